package bench

import "os"

// terminate stops the process; Windows has no SIGTERM for console children, so it is killed.
func terminate(p *os.Process) error { return p.Kill() }
