import Foundation

/// What `hello` and `enroll` say about this machine.
public struct HostFacts: Sendable, Equatable {
    public var hostname: String
    /// Go's GOOS names: `linux`, `windows`, `darwin`.
    public var os: String
    /// Go's GOARCH names: `amd64`, `arm64`.
    public var arch: String
    public var bootTime: Date?
    /// The host's IANA time zone, in which schedules run.
    public var timezone: String

    public static func current() -> HostFacts {
        HostFacts(hostname: currentHostname(), os: currentOS, arch: currentArch, bootTime: bootTime(),
                  timezone: timezoneIdentifier())
    }

    static func currentHostname() -> String {
        #if os(Windows)
            let name = ProcessInfo.processInfo.hostName
        #else
            var buffer = [CChar](repeating: 0, count: 256)
            guard gethostname(&buffer, buffer.count) == 0 else { return ProcessInfo.processInfo.hostName }
            let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #endif
        return name.isEmpty ? "localhost" : name
    }

    #if os(Linux)
        static let currentOS = "linux"
    #elseif os(Windows)
        static let currentOS = "windows"
    #elseif os(macOS)
        static let currentOS = "darwin"
    #else
        static let currentOS = "unknown"
    #endif

    #if arch(x86_64)
        static let currentArch = "amd64"
    #elseif arch(arm64)
        static let currentArch = "arm64"
    #elseif arch(i386)
        static let currentArch = "386"
    #else
        static let currentArch = "unknown"
    #endif

    /// Linux: `btime` in /proc/stat (seconds since the epoch).
    static func bootTime() -> Date? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            if let seconds = TimeInterval(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) {
                return Date(timeIntervalSince1970: seconds)
            }
        }
        return nil
    }

    /// `TimeZone.current`, unless it fell back to GMT while /etc/timezone
    /// names the zone.
    static func timezoneIdentifier() -> String {
        let identifier = TimeZone.current.identifier
        if identifier == "GMT" || identifier.isEmpty,
            let text = try? String(contentsOfFile: "/etc/timezone", encoding: .utf8)
        {
            let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !name.isEmpty, TimeZone(identifier: name) != nil { return name }
        }
        return identifier.isEmpty ? "UTC" : identifier
    }
}
