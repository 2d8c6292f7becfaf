package service

import (
	"errors"
	"strconv"
)

// Config is the validator's settings besides the platform's (platform.Parse reads them).
type Config struct {
	// RejectThreshold is the reject ratio above which a batch is quarantined.
	RejectThreshold Ratio `env:"GFN_REJECT_THRESHOLD" envDefault:"0.05"`
}

// Ratio is a number from 0 to 1.
type Ratio float64

// UnmarshalText accepts ratios only.
func (r *Ratio) UnmarshalText(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > 1 {
		return errors.New("want a ratio between 0 and 1")
	}
	*r = Ratio(f)
	return nil
}
