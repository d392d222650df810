package amqp

import "golang.org/x/sys/unix"

// DefaultDiskFreeLimit is RabbitMQ's default disk_free_limit: below 50 MB
// free on the data volume, publishers are blocked.
const DefaultDiskFreeLimit = 50_000_000

// diskFree reports the bytes available to the broker on dir's volume.
func diskFree(dir string) func() (uint64, error) {
	return func() (uint64, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return 0, err
		}
		return st.Bavail * uint64(st.Bsize), nil
	}
}
