package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/reward"
)

func TestGuideSettleCommand(t *testing.T) {
	data, _ := brandedData(t)
	yimaOK(t, data, "store", "add", "S1", "--name", "Store 1")
	yimaOK(t, data, "guide", "add", "--id", "G1", "--store", "S1")
	out := t.TempDir()
	// Last month has ended; nothing was earned in it, so no file.
	last := time.Now().UTC().AddDate(0, -1, -2).Format("2006-01")
	var v reward.SettlementView
	decode(t, yimaOK(t, data, "guide", "settle", "--period", last, "--out", out), &v)
	if v.Period != last || v.Status != reward.SettlementSettled || v.Repeated || len(v.Lines) != 0 {
		t.Fatalf("settle printed %+v", v)
	}
	decode(t, yimaOK(t, data, "guide", "settle", "--period", last, "--out", out), &v)
	if !v.Repeated {
		t.Fatalf("settling again: %+v", v)
	}
	if files, _ := os.ReadDir(out); len(files) != 0 {
		t.Fatalf("files written for a month without commission: %v", files)
	}
	next := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01")
	wantExit(t, data, exitFailed, "has not ended", "guide", "settle", "--period", next, "--out", out)
	wantExit(t, data, exitUsage, "YYYY-MM", "guide", "settle", "--period", "2026-13", "--out", out)
	wantExit(t, data, exitUsage, "--period is required", "guide", "settle")
	wantExit(t, data, exitUsage, "directory that exists", "guide", "settle", "--period", last, "--out", filepath.Join(out, "none"))
}

// TestWritePayrolls writes the files of a settlement with two stores, one
// of whose names is not a file name.
func TestWritePayrolls(t *testing.T) {
	v := &reward.SettlementView{Settlement: reward.Settlement{Period: "2026-11"}, Lines: []reward.GuideSettlement{
		{Period: "2026-11", Guide: "G1", Name: "王芳", Store: "南京/新街口店", StoreName: "新街口店", StoreCode: "320102-07", Commission: 120},
		{Period: "2026-11", Guide: "G2", Name: "=cmd()", Store: "南京/新街口店", StoreName: "新街口店", StoreCode: "320102-07", Commission: -3},
		{Period: "2026-11", Guide: "G3", Store: "Store 2", Commission: 7},
	}}
	dir := t.TempDir()
	cmd := &cobra.Command{}
	cmd.SetErr(&bytes.Buffer{})
	if err := writePayrolls(cmd, v, dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "payroll-2026-11-南京_新街口店.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "\ufeffguide,name,store,store_name,store_code,period,commission\r\nG1,王芳,南京/新街口店,新街口店,320102-07,2026-11,120\r\nG2,'=cmd(),南京/新街口店,新街口店,320102-07,2026-11,-3\r\n"
	if string(raw) != want {
		t.Fatalf("payroll file:\n%q\nwant\n%q", raw, want)
	}
	raw, err = os.ReadFile(filepath.Join(dir, "payroll-2026-11-Store_2.csv"))
	if err != nil || !strings.HasSuffix(string(raw), "G3,,Store 2,,,2026-11,7\r\n") {
		t.Fatalf("second store's file: %q %v", raw, err)
	}
}
