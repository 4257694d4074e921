package installer

import (
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func TestSerialPortGroups(t *testing.T) {
	if got := serialPortGroups(nil); len(got) != 0 {
		t.Errorf("no ports: got %v; want no group", got)
	}
	t.Run("DeviceGroup", func(t *testing.T) {
		if !isPrivileged() {
			t.Skip("chgrp to another group needs root")
		}
		g, err := user.LookupGroup("daemon")
		if err != nil {
			t.Skip("no daemon group")
		}
		gid, _ := strconv.Atoi(g.Gid)
		dev := filepath.Join(t.TempDir(), "ttyUSB0")
		if err := os.WriteFile(dev, nil, 0o660); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dev, 0, gid); err != nil {
			t.Fatal(err)
		}
		if got := serialPortGroups([]string{dev}); !slices.Equal(got, []string{"daemon"}) {
			t.Errorf("got %v; want [daemon], the device's own group", got)
		}
	})
	t.Run("Unplugged", func(t *testing.T) {
		var want []string
		for _, g := range serialGroups {
			if _, err := user.LookupGroup(g); err == nil {
				want = append(want, g)
			}
		}
		if got := serialPortGroups([]string{"/dev/ttyUSB-not-plugged-in"}); !slices.Equal(got, want) {
			t.Errorf("got %v; want the distribution's serial groups %v", got, want)
		}
	})
}
