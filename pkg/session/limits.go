package session

// MaxInterfaceLen bounds an interface name wherever one arrives: in a
// worker's hello, in a session line and in an API filter. It is generous:
// workers may run on other systems than Linux (where IFNAMSIZ is 16).
const MaxInterfaceLen = 64
