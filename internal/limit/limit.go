// Package limit reads the configured bounds of a component: a bound left
// at zero (or set below it) means the component's default.
package limit

import "time"

// Or is v when it is set (above zero), else def.
func Or[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
