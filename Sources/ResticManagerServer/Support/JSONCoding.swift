import Foundation
import ResticManagerProtocol

/// The API's JSON conventions in one place: snake_case names and RFC 3339
/// UTC times (SPEC §7.1).
enum APIJSON {
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            // The store keeps milliseconds: a create response and a later GET
            // of the same row must show the same time.
            try container.encode(RFC3339.format(Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)))
        }
        return encoder
    }

    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an RFC 3339 time such as 2026-01-31T23:00:00Z")
            }
            return date
        }
        return decoder
    }

    /// `someFieldName` → `some_field_name`, to name fields in errors the way
    /// the client wrote them.
    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                if !result.isEmpty { result.append("_") }
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Encodes `nil` as an explicit JSON `null` instead of omitting the key, for
/// the response fields SPEC §7.1 shows as `…|null`.
@propertyWrapper
struct ExplicitNull<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(wrappedValue)
        } else {
            try container.encodeNil()
        }
    }
}
