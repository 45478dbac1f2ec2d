import Foundation

/// Whether the daemon that wrote a state record is still alive.
enum ProcessLiveness {
    static var currentPID: Int32? {
        #if os(Windows)
            nil
        #else
            getpid()
        #endif
    }

    /// False only when the process certainly does not exist.
    static func mayBeAlive(_ pid: Int32) -> Bool {
        #if os(Windows)
            true
        #else
            kill(pid, 0) == 0 || errno != ESRCH
        #endif
    }
}
