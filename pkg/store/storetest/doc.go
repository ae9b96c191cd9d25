// Package storetest makes realistic sessions for tests and benchmarks of the
// store and of the packages that feed it.
package storetest
