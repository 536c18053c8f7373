package baseline

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// procStat reads a process's parent and CPU times from /proc/PID/stat:
// its own user+system seconds and those of its children it has reaped.
func procStat(pid int) (ppid int, self, children float64, ok bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name is in parentheses and may hold spaces: fields
	// start after the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := bytes.Fields(raw[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	num := func(j int) float64 {
		n, _ := strconv.ParseFloat(string(f[j]), 64)
		return n
	}
	ppid = int(num(1))
	return ppid, (num(11) + num(12)) / clockTicks, (num(13) + num(14)) / clockTicks, true
}

// treeCPU returns the CPU seconds of process pid, of its children that are
// still running, and of those it has reaped: for a server that forks a
// process per connection (PostgreSQL), the whole server's.
func treeCPU(pid int) float64 {
	_, self, reaped, ok := procStat(pid)
	if !ok {
		return nan
	}
	total := self + reaped
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		child, err := strconv.Atoi(filepath.Base(d))
		if err != nil || child == pid {
			continue
		}
		if pp, s, _, ok := procStat(child); ok && pp == pid {
			total += s
		}
	}
	return total
}
