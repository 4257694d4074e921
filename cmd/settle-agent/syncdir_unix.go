//go:build !windows

package main

import "os"

// syncDir makes the names of the files just written in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
