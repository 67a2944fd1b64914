// Reads a tar.gz the way a Go service would (compress/gzip, multistream by default, and
// archive/tar) and prints one line per entry: name, type flag, size and the sha256 of its
// content, then the total of uncompressed bytes. The packer's tests compare the lines with the
// tree. Standard library only, so it runs offline.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run main.go <archive.tar.gz>")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fail(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		fail(err)
	}
	counted := &countingReader{r: zr}
	tr := tar.NewReader(counted)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			fail(err)
		}
		fmt.Printf("%s\t%c\t%d\t%x\n", h.Name, h.Typeflag, h.Size, sum.Sum(nil))
	}
	// Read the rest (the tar's zero padding), so every gzip member's CRC and length are checked.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		fail(err)
	}
	fmt.Printf("total\t%d\n", counted.n)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
