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
                case (.text, .standardOutput):
                    ControlEscapingLogHandler(wrapping: StreamLogHandler.standardOutput(label: label))
                case (.text, .standardError):
                    ControlEscapingLogHandler(wrapping: StreamLogHandler.standardError(label: label))
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

/// Keeps the text log one event per line: values that came from outside (an
/// agent's error message, a client's path) may hold a newline that would
/// forge a log line, or a NUL or terminal escape. Control characters in the
/// message and every metadata value are written as `\n`, `\u{1b}` and the
/// like. (The JSON format escapes them already.)
public struct ControlEscapingLogHandler: LogHandler {
    private var wrapped: any LogHandler

    public init(wrapping handler: any LogHandler) {
        wrapped = handler
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(Self.escape) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(Self.escape) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        event.metadata = event.metadata?.mapValues(Self.escape)
        wrapped.log(event: event)
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(escape(text))
        case .stringConvertible(let convertible): .string(escape(convertible.description))
        case .array(let values): .array(values.map(escape))
        case .dictionary(let values): .dictionary(values.mapValues(escape))
        }
    }

    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where isControl(scalar): escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
