import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time a process used, so the table can tell the server's cost per
/// line from the simulated agents' when both share the machine's cores.
enum CPUClock {
    /// This process, all threads.
    static func ownTime() -> Duration {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return .seconds(Int64(spec.tv_sec)) + .nanoseconds(Int64(spec.tv_nsec))
    }

    /// Another process, from `/proc/<pid>/stat` (Linux only; nil elsewhere).
    static func time(ofProcess pid: Int32) -> Duration? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let commandEnd = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command start at field 3 (state): utime and stime,
        // fields 14 and 15, are at offsets 11 and 12.
        let fields = stat[stat.index(after: commandEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / max(1, ticksPerSecond))
    }
}
