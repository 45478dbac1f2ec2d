#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`). Every connection holds
/// a descriptor; distributions start services with a soft limit of 1,024
/// while the hard limit is far higher, and only the process can raise it.
/// Public for the fleet benchmark, whose agents need as many descriptors.
public enum FileDescriptorLimit {
    public struct Change: Sendable {
        public let was: UInt64
        public let now: UInt64
        public let hard: UInt64
    }

    /// Raises the soft limit to the hard one; says what it was and is.
    /// nil when the limits cannot be read (nothing to report then).
    public static func raiseToHard() -> Change? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let was = UInt64(limit.rlim_cur)
        var target = limit.rlim_max
        #if canImport(Darwin)
        // macOS refuses RLIM_INFINITY for descriptors; OPEN_MAX is its ceiling.
        target = min(target, rlim_t(OPEN_MAX))
        #endif
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Change(was: was, now: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
