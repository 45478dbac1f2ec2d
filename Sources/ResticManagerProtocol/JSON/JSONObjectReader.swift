import Foundation

/// Why a payload could not be read: the dotted path of the field and the
/// problem, e.g. `payload.seq: expected integer, found string`.
struct PayloadShapeError: Error, Sendable, Equatable {
    let path: String
    let problem: String

    var reason: String { path.isEmpty ? problem : "\(path): \(problem)" }
}

/// A payload type that reads and writes itself with Go's encoding/json
/// semantics: missing or `null` fields take zero values, unknown fields are
/// ignored, and `omitempty` decides what is left out when writing.
///
/// One conformance per type is the single source of truth for its JSON
/// shape; the envelope codec and the `Codable` conformance both use it.
protocol WirePayload: Sendable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError)
    /// Writes the members (not the braces) in Go struct field order.
    func writeMembers(to writer: inout JSONWriter)
}

/// Typed, Go-compatible access to the members of one JSON object.
///
/// Lookups are linear: payload objects have a dozen members at most, and a
/// scan over short byte strings beats building a dictionary. When a name
/// appears twice, the last one wins, as in Go.
struct JSONObjectReader {
    let document: JSONDocument
    /// Index of the object node (or of a `null` node, read as `{}`).
    let index: Int
    /// Path of this object for error messages, e.g. `payload.schedules`.
    let path: String
    /// Position in the enclosing array, appended to `path` as `[n]`.
    let element: Int?

    init(document: JSONDocument, index: Int, path: String, element: Int? = nil) {
        self.document = document
        self.index = index
        self.path = path
        self.element = element
    }

    // MARK: - Lookup

    private func valueIndex(_ key: StaticString) -> Int? {
        let nodes = document.nodes
        var found: Int?
        var keyIndex = index + 1
        let end = nodes[index].subtreeEnd
        while keyIndex < end {
            let valueIndex = keyIndex + 1
            if document.keyEquals(at: keyIndex, key) { found = valueIndex }
            keyIndex = nodes[valueIndex].subtreeEnd
        }
        return found
    }

    /// The value node for `key`, or nil when it is missing or `null`.
    private func presentValue(_ key: StaticString) -> Int? {
        guard let value = valueIndex(key), document.nodes[value].kind != .null else { return nil }
        return value
    }

    private var objectPath: String {
        guard let element else { return path }
        return "\(path)[\(element)]"
    }

    func fieldPath(_ key: StaticString) -> String {
        let base = objectPath
        return base.isEmpty ? key.description : "\(base).\(key)"
    }

    private func mismatch(_ key: StaticString, expected: String, at value: Int) -> PayloadShapeError {
        PayloadShapeError(path: fieldPath(key), problem: "expected \(expected), found \(document.kindName(at: value))")
    }

    // MARK: - Scalars

    /// A string; missing or `null` reads as "" (Go's zero value).
    func string(_ key: StaticString) throws(PayloadShapeError) -> String {
        guard let value = presentValue(key) else { return "" }
        guard document.nodes[value].kind == .string else { throw mismatch(key, expected: "string", at: value) }
        return document.string(at: value)
    }

    /// A string where "" means absent (an `omitempty` field): nil then.
    func optionalString(_ key: StaticString) throws(PayloadShapeError) -> String? {
        let value = try string(key)
        return value.isEmpty ? nil : value
    }

    /// An integer literal that fits `Int64`; missing or `null` reads as 0.
    func int64(_ key: StaticString) throws(PayloadShapeError) -> Int64 {
        guard let value = presentValue(key) else { return 0 }
        guard document.nodes[value].kind == .number else { throw mismatch(key, expected: "integer", at: value) }
        guard let number = document.int64(at: value) else {
            let problem =
                document.nodes[value].flag
                ? "expected integer, found \(ErrorText.quote(document.rawText(at: value)))"
                : "integer out of range"
            throw PayloadShapeError(path: fieldPath(key), problem: problem)
        }
        return number
    }

    /// An integer where 0 means absent (an `omitempty` field): nil then.
    func optionalInt64(_ key: StaticString) throws(PayloadShapeError) -> Int64? {
        let value = try int64(key)
        return value == 0 ? nil : value
    }

    /// A Go `int`: an integer that fits this platform's `Int`.
    func int(_ key: StaticString) throws(PayloadShapeError) -> Int {
        let value = try int64(key)
        guard let result = Int(exactly: value) else {
            throw PayloadShapeError(path: fieldPath(key), problem: "integer out of range")
        }
        return result
    }

    /// Any finite number; missing or `null` reads as 0.
    func double(_ key: StaticString) throws(PayloadShapeError) -> Double {
        guard let value = presentValue(key) else { return 0 }
        guard document.nodes[value].kind == .number else { throw mismatch(key, expected: "number", at: value) }
        guard let number = document.double(at: value) else {
            throw PayloadShapeError(path: fieldPath(key), problem: "number out of range")
        }
        return number
    }

    /// `true` or `false`; missing or `null` reads as false.
    func bool(_ key: StaticString) throws(PayloadShapeError) -> Bool {
        guard let value = presentValue(key) else { return false }
        switch document.nodes[value].kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(key, expected: "boolean", at: value)
        }
    }

    // MARK: - Times

    /// A required time. Missing, `null` and Go's zero time all read as
    /// ``RFC3339/goZeroTime``, exactly as Go would decode them.
    func time(_ key: StaticString) throws(PayloadShapeError) -> Date {
        try optionalTime(key) ?? RFC3339.goZeroTime
    }

    /// An optional time: missing, `null` and Go's zero time read as nil.
    func optionalTime(_ key: StaticString) throws(PayloadShapeError) -> Date? {
        guard let value = presentValue(key) else { return nil }
        guard document.nodes[value].kind == .string else {
            throw mismatch(key, expected: "RFC 3339 time string", at: value)
        }
        guard let date = document.withStringBytes(at: value, { RFC3339.parse(utf8: $0) }) else {
            throw PayloadShapeError(
                path: fieldPath(key),
                problem: "expected RFC 3339 time, found \(ErrorText.quote(document.string(at: value)))"
            )
        }
        return date == RFC3339.goZeroTime ? nil : date
    }

    // MARK: - Enumerations

    /// A required enumeration value. Unlike Go, an unknown or missing value
    /// is an error: the Swift side switches over these exhaustively.
    func enumeration<E: RawRepresentable & CaseIterable>(
        _ key: StaticString,
        as type: E.Type
    ) throws(PayloadShapeError) -> E where E.RawValue == String {
        guard let result = try optionalEnumeration(key, as: type) else {
            throw PayloadShapeError(path: fieldPath(key), problem: "missing (expected \(Self.choices(of: type)))")
        }
        return result
    }

    /// An optional enumeration value: missing, `null` or "" read as nil.
    func optionalEnumeration<E: RawRepresentable & CaseIterable>(
        _ key: StaticString,
        as type: E.Type
    ) throws(PayloadShapeError) -> E? where E.RawValue == String {
        guard let raw = try optionalString(key) else { return nil }
        guard let result = E(rawValue: raw) else {
            throw PayloadShapeError(
                path: fieldPath(key),
                problem: "unknown value \(ErrorText.quote(raw)) (expected \(Self.choices(of: type)))"
            )
        }
        return result
    }

    private static func choices<E: RawRepresentable & CaseIterable>(of type: E.Type) -> String
    where E.RawValue == String {
        "one of " + E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
    }

    // MARK: - Arrays, objects, raw JSON

    /// An array of strings that may be absent: missing or `null` reads as
    /// nil, so "not sent" stays distinct from "sent empty".
    func optionalStrings(_ key: StaticString) throws(PayloadShapeError) -> [String]? {
        guard presentValue(key) != nil else { return nil }
        return try strings(key)
    }

    /// An array of strings; missing or `null` reads as []. A `null`
    /// element reads as "", as Go does.
    func strings(_ key: StaticString) throws(PayloadShapeError) -> [String] {
        guard let value = presentValue(key) else { return [] }
        let nodes = document.nodes
        guard nodes[value].kind == .array else { throw mismatch(key, expected: "array of strings", at: value) }
        var result: [String] = []
        result.reserveCapacity(nodes[value].count)
        var elementIndex = value + 1
        while elementIndex < nodes[value].subtreeEnd {
            switch nodes[elementIndex].kind {
            case .string: result.append(document.string(at: elementIndex))
            case .null: result.append("")
            default:
                throw PayloadShapeError(
                    path: "\(fieldPath(key))[\(result.count)]",
                    problem: "expected string, found \(document.kindName(at: elementIndex))"
                )
            }
            elementIndex = nodes[elementIndex].subtreeEnd
        }
        return result
    }

    /// An array of objects; missing or `null` reads as []. A `null`
    /// element reads as `{}` (Go's zero struct).
    func objects<T: WirePayload>(_ key: StaticString, as type: T.Type) throws(PayloadShapeError) -> [T] {
        guard let value = presentValue(key) else { return [] }
        let nodes = document.nodes
        guard nodes[value].kind == .array else { throw mismatch(key, expected: "array of objects", at: value) }
        let elementPath = fieldPath(key)
        var result: [T] = []
        result.reserveCapacity(nodes[value].count)
        var elementIndex = value + 1
        while elementIndex < nodes[value].subtreeEnd {
            guard nodes[elementIndex].kind == .object || nodes[elementIndex].kind == .null else {
                throw PayloadShapeError(
                    path: "\(elementPath)[\(result.count)]",
                    problem: "expected object, found \(document.kindName(at: elementIndex))"
                )
            }
            let reader = JSONObjectReader(
                document: document,
                index: elementIndex,
                path: elementPath,
                element: result.count
            )
            result.append(try T(reading: reader))
            elementIndex = nodes[elementIndex].subtreeEnd
        }
        return result
    }

    /// A nested object added to v1 as optional: missing or `null` reads as nil.
    func optionalObject<T: WirePayload>(_ key: StaticString, as type: T.Type) throws(PayloadShapeError) -> T? {
        guard let value = presentValue(key) else { return nil }
        guard document.nodes[value].kind == .object else { throw mismatch(key, expected: "object", at: value) }
        return try T(reading: JSONObjectReader(document: document, index: value, path: fieldPath(key)))
    }

    /// A boolean added to v1 as optional: missing or `null` reads as nil,
    /// so "not sent" stays distinct from `false`.
    func optionalBool(_ key: StaticString) throws(PayloadShapeError) -> Bool? {
        guard presentValue(key) != nil else { return nil }
        return try bool(key)
    }

    /// The verbatim text of any value (Go's `json.RawMessage`), or nil when
    /// the member is missing. An explicit `null` is kept as the text `null`,
    /// as Go keeps it.
    func raw(_ key: StaticString) -> RawJSON? {
        guard let value = valueIndex(key) else { return nil }
        return RawJSON(verbatim: document.rawText(at: value))
    }
}
