/// A parsed JSON value, used where the fast byte-span path cannot be:
/// bridging payloads through a generic `Encoder`/`Decoder`, and comparing
/// JSON documents in tests. Numbers keep their literal text so nothing is
/// lost to `Double` rounding; object members keep their order.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// One object member, in document order.
    struct Member: Sendable, Equatable {
        var key: String
        var value: JSONValue
    }

    /// Parses one JSON document.
    static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { bytes -> Result<JSONValue, JSONSyntaxError> in
            do throws(JSONSyntaxError) {
                let document = try JSONDocument(scanning: bytes)
                return .success(JSONValue(document: document, index: 0))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Builds the value rooted at node `index` of a scanned document.
    init(document: JSONDocument, index: Int) {
        let node = document.nodes[index]
        switch node.kind {
        case .null: self = .null
        case .true: self = .bool(true)
        case .false: self = .bool(false)
        case .number: self = .number(document.rawText(at: index))
        case .string: self = .string(document.string(at: index))
        case .array:
            var elements: [JSONValue] = []
            var child = index + 1
            while child < node.subtreeEnd {
                elements.append(JSONValue(document: document, index: child))
                child = document.nodes[child].subtreeEnd
            }
            self = .array(elements)
        case .object:
            var members: [Member] = []
            var child = index + 1
            while child < node.subtreeEnd {
                members.append(
                    Member(
                        key: document.string(at: child),
                        value: JSONValue(document: document, index: child + 1)
                    )
                )
                child = document.nodes[child + 1].subtreeEnd
            }
            self = .object(members)
        }
    }

    /// Writes the value as compact JSON.
    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.writeNull()
        case .bool(let value): writer.writeBool(value)
        case .number(let literal): writer.writeRaw(RawJSON(verbatim: literal))
        case .string(let value): writer.writeString(value)
        case .array(let elements): writer.array(elements) { $1.write(to: &$0) }
        case .object(let members):
            writer.object { writer in
                for member in members {
                    writer.key(member.key)
                    member.value.write(to: &writer)
                }
            }
        }
    }

    /// Compact JSON text of the value.
    var compactText: String {
        var writer = JSONWriter()
        write(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

extension JSONValue: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if single.decodeNil() {
                self = .null
                return
            }
            if let value = try? single.decode(Bool.self) {
                self = .bool(value)
                return
            }
            if let value = try? single.decode(Int64.self) {
                self = .number(String(value))
                return
            }
            if let value = try? single.decode(Double.self) {
                var writer = JSONWriter(capacity: 24)
                writer.writeDouble(value)
                self = .number(String(decoding: writer.bytes, as: UTF8.self))
                return
            }
            if let value = try? single.decode(String.self) {
                self = .string(value)
                return
            }
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd {
                elements.append(try array.decode(JSONValue.self))
            }
            self = .array(elements)
            return
        }
        let object = try decoder.container(keyedBy: AnyKey.self)
        // Generic decoders do not promise member order; sort for determinism.
        self = .object(
            try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map { key in
                Member(key: key.stringValue, value: try object.decode(JSONValue.self, forKey: key))
            }
        )
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .number(let literal):
            var single = encoder.singleValueContainer()
            if let integer = Int64(literal) {
                try single.encode(integer)
            } else if let unsigned = UInt64(literal) {
                try single.encode(unsigned)
            } else {
                try single.encode(Double(literal) ?? 0)
            }
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for element in elements { try array.encode(element) }
        case .object(let members):
            var object = encoder.container(keyedBy: AnyKey.self)
            for member in members {
                try object.encode(member.value, forKey: AnyKey(stringValue: member.key))
            }
        }
    }
}
