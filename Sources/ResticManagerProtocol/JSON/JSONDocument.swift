/// A scanned JSON document: the source bytes and the nodes that index them.
///
/// It borrows the bytes, so it must not outlive the buffer it was made from;
/// every user is a synchronous decode inside `withUnsafeBufferPointer`.
struct JSONDocument {
    let bytes: UnsafeBufferPointer<UInt8>
    let nodes: [JSONNode]

    /// Scans `bytes`; throws when they are not one well-formed JSON value.
    init(scanning bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        self.bytes = bytes
        self.nodes = try JSONSpanScanner.scan(bytes)
    }

    /// The exact source text of a value, as the sender wrote it.
    func rawText(at index: Int) -> String {
        let node = nodes[index]
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[node.start..<node.end]), as: UTF8.self)
    }

    /// The decoded contents of a string node (escapes resolved).
    func string(at index: Int) -> String {
        let node = nodes[index]
        let inner = UnsafeBufferPointer(rebasing: bytes[(node.start + 1)..<(node.end - 1)])
        return node.flag ? Self.unescape(inner) : String(decoding: inner, as: UTF8.self)
    }

    /// Calls `body` with the decoded UTF-8 bytes of a string node, avoiding
    /// a `String` allocation when the text has no escapes.
    func withStringBytes<R>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let node = nodes[index]
        let inner = UnsafeBufferPointer(rebasing: bytes[(node.start + 1)..<(node.end - 1)])
        if !node.flag { return body(inner) }
        var decoded = Self.unescape(inner)
        return decoded.withUTF8 { body($0) }
    }

    /// Whether the member name at `index` equals `key`.
    func keyEquals(at index: Int, _ key: StaticString) -> Bool {
        let node = nodes[index]
        let length = node.end - node.start - 2
        if node.flag {
            return string(at: index) == key.description
        }
        guard length == key.utf8CodeUnitCount else { return false }
        return key.withUTF8Buffer { expected in
            var offset = 0
            while offset < length {
                if bytes[node.start + 1 + offset] != expected[offset] { return false }
                offset += 1
            }
            return true
        }
    }

    /// The value of an integer literal, or nil when the number has a
    /// fraction or exponent or does not fit (Go refuses both for int fields).
    func int64(at index: Int) -> Int64? {
        let node = nodes[index]
        guard node.kind == .number, !node.flag else { return nil }
        var offset = node.start
        let negative = bytes[offset] == UInt8(ascii: "-")
        if negative { offset += 1 }
        var magnitude: UInt64 = 0
        while offset < node.end {
            let digit = UInt64(bytes[offset] &- UInt8(ascii: "0"))
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            offset += 1
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
            return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// The value of a number literal as a finite `Double`, or nil.
    func double(at index: Int) -> Double? {
        let node = nodes[index]
        guard node.kind == .number else { return nil }
        let value = Double(rawText(at: index))
        return value.flatMap { $0.isFinite ? $0 : nil }
    }

    /// A JSON-ish name for a node's kind, for "found …" in error messages.
    func kindName(at index: Int) -> String {
        switch nodes[index].kind {
        case .null: "null"
        case .true, .false: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Resolves backslash escapes. The scanner has already validated them.
    /// Unpaired surrogates become U+FFFD, as Go's decoder does.
    static func unescape(_ inner: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var index = 0
        while index < inner.count {
            let byte = inner[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = inner[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = hex4(inner, at: index)
                index += 4
                if (0xD800..<0xDC00).contains(code) {
                    if index + 6 <= inner.count, inner[index] == UInt8(ascii: "\\"),
                        inner[index + 1] == UInt8(ascii: "u")
                    {
                        let low = hex4(inner, at: index + 2)
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            index += 6
                        } else {
                            code = 0xFFFD
                        }
                    } else {
                        code = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(code) {
                    code = 0xFFFD
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: UTF8.encode(scalar)!)
            default: out.append(escape)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            value = value << 4 | (JSONSpanScanner.hexValue(bytes[index + offset]) ?? 0)
        }
        return value
    }
}
