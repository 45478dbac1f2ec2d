import Foundation

/// A JSON request body as the OpenAPI document describes it: which fields
/// a handler needs (a body without them is refused, so a client generated
/// from the document must know) and of what JSON type each field is.
/// Optional fields also take `null`, as the decoders treat it as absent.
struct BodySchema: Sendable {
    enum Kind: Sendable {
        case string, integer, number, boolean, object, strings
        /// A string from a fixed list (a role, a kind).
        case choice([String])

        var schema: [String: Any] {
            switch self {
            case .string: ["type": "string"]
            case .integer: ["type": "integer"]
            case .number: ["type": "number"]
            case .boolean: ["type": "boolean"]
            case .object: ["type": "object"]
            case .strings: ["type": "array", "items": ["type": "string"]]
            case .choice(let values): ["type": "string", "enum": values]
            }
        }
    }

    let required: [(name: String, kind: Kind)]
    let optional: [(name: String, kind: Kind)]

    init(required: KeyValuePairs<String, Kind> = [:], optional: KeyValuePairs<String, Kind> = [:]) {
        self.required = required.map { ($0.key, $0.value) }
        self.optional = optional.map { ($0.key, $0.value) }
    }

    /// The JSON Schema (OpenAPI 3.1) of the body.
    var jsonSchema: [String: Any] {
        var properties: [String: Any] = [:]
        for field in required { properties[field.name] = field.kind.schema }
        for field in optional {
            var schema = field.kind.schema
            schema["type"] = [schema["type"] as? String ?? "object", "null"]
            if let values = schema["enum"] as? [String] { schema["enum"] = values + [NSNull()] as [Any] }
            properties[field.name] = schema
        }
        var schema: [String: Any] = ["type": "object", "properties": properties]
        if !required.isEmpty { schema["required"] = required.map(\.name) }
        return schema
    }
}

/// A query parameter a route reads, as the OpenAPI document lists it. A
/// route that reads any answers 400 when one is malformed.
struct QueryParameter: Sendable {
    let name: String
    let kind: BodySchema.Kind
    var required = false
    var values: [String] = []

    var openAPI: [String: Any] {
        var schema = kind.schema
        if !values.isEmpty { schema["enum"] = values }
        return ["name": name, "in": "query", "required": required, "schema": schema]
    }

    /// `limit` and `cursor` of every paginated list (SPEC §7).
    static let page = [QueryParameter(name: "limit", kind: .integer), QueryParameter(name: "cursor", kind: .string)]
}
