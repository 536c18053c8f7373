// Package printing writes a batch's codes out for the factory: the URL and
// CSV files label printers take (Export), one QR or DataMatrix image per code
// into a directory or a zip archive (ExportImagesDir, ExportImagesZip), a
// single symbol (Image, WriteImage), and A4 PDF label sheets
// (WriteLabelSheet).
//
// It signs with a codegen.Keyset and writes to the io.Writer or directory
// it is given; it reads no records and touches no storage. It is apart from
// codegen so that what decides a scan never links an image or PDF library:
// no rule (reward, store) imports it, and codegen does not either
// (lint_test.go holds both). Every export signs on several goroutines, one
// codegen.Signer each, and writes in serial order, so a file's lines and a
// sheet's labels come out as the batch numbers them.
//
// Label sheets draw text other than plain ASCII in TrueType font files
// (LabelSheetOptions.Fonts, DefaultLabelFonts from Debian's packages),
// embedded as subsets; reading those files is its one I/O besides the
// writer.
package printing
