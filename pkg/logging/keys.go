package logging

// Attribute keys written by more than one package. Keys used by one package
// only stay literal there.
const (
	// KeyErr carries an error, as slog's own examples spell it.
	KeyErr = "err"
	// KeySuppressed is how many messages of the same kind a Limiter held
	// back since the previous one it let through.
	KeySuppressed = "suppressed"
)
