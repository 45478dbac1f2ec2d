/// One value of a scanned ``JSONDocument``, handed to a generic `Encoder`
/// node by node, with no tree built in between.
///
/// Number literals are encoded as `Int64`, then `UInt64`, then `Double`,
/// so a byte count above 2^53 stays exact. Used where a payload or raw JSON
/// value must go through Foundation's coders (``RawJSON`` and
/// ``WirePayloadCodable``); frames never take this path.
struct JSONDocumentValue: Encodable {
    let document: JSONDocument
    let index: Int

    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        let node = document.nodes[index]
        switch node.kind {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .true, .false:
            var single = encoder.singleValueContainer()
            try single.encode(node.kind == .true)
        case .number:
            var single = encoder.singleValueContainer()
            let literal = document.rawText(at: index)
            if let integer = Int64(literal) {
                try single.encode(integer)
            } else if let unsigned = UInt64(literal) {
                try single.encode(unsigned)
            } else {
                try single.encode(Double(literal) ?? 0)
            }
        case .string:
            var single = encoder.singleValueContainer()
            try single.encode(document.string(at: index))
        case .array:
            var array = encoder.unkeyedContainer()
            var child = index + 1
            while child < node.subtreeEnd {
                try array.encode(JSONDocumentValue(document: document, index: child))
                child = document.nodes[child].subtreeEnd
            }
        case .object:
            var object = encoder.container(keyedBy: MemberKey.self)
            var key = index + 1
            while key < node.subtreeEnd {
                try object.encode(
                    JSONDocumentValue(document: document, index: key + 1),
                    forKey: MemberKey(stringValue: document.string(at: key))
                )
                key = document.nodes[key + 1].subtreeEnd
            }
        }
    }
}
