import Foundation
import Hummingbird

/// Query parameters decoded the way HTML forms encode them
/// (application/x-www-form-urlencoded): `+` is a space. Hummingbird's
/// `queryParameters` keeps a `+`, so a "web 01" typed into a search box
/// would arrive as "web+01".
enum FormQuery {
    /// The first value of `name`, nil when absent.
    static func value(_ name: String, in request: Request) throws -> String? {
        for pair in request.uri.query?.split(separator: "&", omittingEmptySubsequences: true) ?? [] {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard decode(parts[0]) == name else { continue }
            guard parts.count > 1 else { return "" }
            guard let value = decode(parts[1]) else {
                throw APIError.validation(name, "is not valid percent-encoding (e.g. %20 for a space)")
            }
            return value
        }
        return nil
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
