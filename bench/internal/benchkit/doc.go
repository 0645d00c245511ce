// Package benchkit holds what the benchmarks under bench share: readers of
// a process's CPU time and peak memory and of the machine's CPU counters in
// /proc, the CPUs a process may use and a taskset plan to keep a load
// client off the server's CPU, a server process started with its output in
// a log file, the noise figure (the machine's CPU other work used during
// the loads), the command line and work directory, and the small number
// formats of the reports.
package benchkit
