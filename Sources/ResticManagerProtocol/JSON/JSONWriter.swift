import Foundation

/// Writes compact JSON into a byte buffer, the way Go's encoding/json lays
/// it out: members in declaration order, no whitespace, `omitempty` applied
/// by the caller choosing the `omitEmpty…` methods.
///
/// Raw JSON values are spliced in unchanged, which is the point of writing
/// our own encoder (see ``JSONSpanScanner``).
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the next member or element needs a leading comma.
    private var needsComma = false

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: - Structure

    /// Writes `{`, the members `body` writes, and `}`.
    mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `[`, one element per item, and `]`.
    mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for item in items {
            separate()
            element(&self, item)
            needsComma = true
        }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes a member name and the colon; the caller writes the value.
    mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    /// Writes a member name that is not known at compile time.
    mutating func key(_ key: String) {
        separate()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    // MARK: - Values

    mutating func writeNull() {
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    mutating func writeBool(_ value: Bool) {
        if value {
            bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            bytes.append(contentsOf: [
                UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e"),
            ])
        }
    }

    mutating func writeInteger(_ value: Int64) {
        // Decimal text of an Int64 fits a small string: no allocation.
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes a finite number in its shortest round-trip form; integral
    /// values without ".0", as Go does. Non-finite values (which Go refuses
    /// to encode) are written as 0 so the frame stays valid JSON.
    mutating func writeDouble(_ value: Double) {
        guard value.isFinite else { return writeInteger(0) }
        if value == value.rounded(.towardZero), value.magnitude < 1e15 {
            return writeInteger(Int64(value))
        }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// Writes a string literal, escaping what JSON requires.
    mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    bytes.append(contentsOf: [
                        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        Self.hexDigit(byte >> 4), Self.hexDigit(byte & 0xF),
                    ])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Splices already-valid JSON text in unchanged.
    mutating func writeRaw(_ value: RawJSON) {
        bytes.append(contentsOf: value.text.utf8)
    }

    mutating func writeTime(_ value: Date) {
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    // MARK: - Members

    mutating func string(_ name: StaticString, _ value: String) {
        key(name)
        writeString(value)
    }

    /// A Go `string` field tagged `omitempty`.
    mutating func omitEmptyString(_ name: StaticString, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        string(name, value)
    }

    mutating func integer(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        writeInteger(Int64(value))
    }

    /// A Go integer field tagged `omitempty`.
    mutating func omitEmptyInteger(_ name: StaticString, _ value: Int64?) {
        guard let value, value != 0 else { return }
        integer(name, value)
    }

    mutating func double(_ name: StaticString, _ value: Double) {
        key(name)
        writeDouble(value)
    }

    mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        writeBool(value)
    }

    /// A Go `[]string` field without `omitempty`. An empty list is written
    /// as `[]` (Go would write `null` for a nil slice; both decode alike).
    mutating func strings(_ name: StaticString, _ value: [String]) {
        key(name)
        array(value) { $0.writeString($1) }
    }

    /// A list added to v1 as optional: nil is left out, empty is written.
    mutating func optionalStrings(_ name: StaticString, _ value: [String]?) {
        guard let value else { return }
        strings(name, value)
    }

    /// A Go `[]string` field tagged `omitempty`.
    mutating func omitEmptyStrings(_ name: StaticString, _ value: [String]) {
        guard !value.isEmpty else { return }
        strings(name, value)
    }

    mutating func time(_ name: StaticString, _ value: Date) {
        key(name)
        writeTime(value)
    }

    /// A Go `time.Time` field that may be zero. Go's `omitempty` never
    /// omits a struct, so absent is written as the zero time.
    mutating func optionalTime(_ name: StaticString, _ value: Date?) {
        time(name, value ?? RFC3339.goZeroTime)
    }

    /// A Go `json.RawMessage` field tagged `omitempty`.
    mutating func omitEmptyRaw(_ name: StaticString, _ value: RawJSON?) {
        guard let value else { return }
        key(name)
        writeRaw(value)
    }

    /// A nested object added to v1 as optional: nil is left out.
    mutating func optionalObject<T: WirePayload>(_ name: StaticString, _ value: T?) {
        guard let value else { return }
        key(name)
        object { value.writeMembers(to: &$0) }
    }

    /// A boolean added to v1 as optional: nil is left out, false is written.
    mutating func optionalBool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        bool(name, value)
    }

    /// A Go slice-of-struct field without `omitempty`.
    mutating func objects<T: WirePayload>(_ name: StaticString, _ value: [T]) {
        key(name)
        array(value) { writer, item in writer.object { item.writeMembers(to: &$0) } }
    }
}
