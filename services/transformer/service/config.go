package service

// Config is the transformer's settings besides the platform's: it has none of its own.
type Config struct{}
