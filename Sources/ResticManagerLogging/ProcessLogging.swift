import ArgumentParser
import Foundation
import Logging

/// Output format of a process log.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Where a process writes its log. The server logs to stdout and keeps
/// stderr for the one-time admin password; the agent logs to stderr so that
/// `status` output on stdout stays clean.
public enum LogStream: Sendable {
    case standardOutput, standardError

    fileprivate var handle: FileHandle {
        switch self {
        case .standardOutput: FileHandle.standardOutput
        case .standardError: FileHandle.standardError
        }
    }
}

/// `--log-format` and `--log-level`, shared by every command of both binaries.
public struct LogOptions: ParsableArguments {
    @Option(help: "Log format: text or json.")
    var logFormat: String = "text"

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    public init() {}

    public func validate() throws {
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// Configures swift-log for this process (once) and returns its logger.
    public func bootstrap(label: String, to stream: LogStream) -> Logger {
        let format = LogFormat(rawValue: logFormat) ?? .text
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch (format, stream) {
                case (.text, .standardOutput): StreamLogHandler.standardOutput(label: label)
                case (.text, .standardError): StreamLogHandler.standardError(label: label)
                case (.json, _): JSONLineLogHandler(label: label, stream: stream)
                }
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

/// One JSON object per line. swift-log ships only a text handler; this is
/// the few lines needed for log shippers that want JSON.
struct JSONLineLogHandler: LogHandler {
    let label: String
    let stream: LogStream
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [
            "ts": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue, "label": label,
            "message": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = value.description
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        data.append(0x0A)
        stream.handle.write(data)
    }
}
