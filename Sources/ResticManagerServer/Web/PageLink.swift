import Foundation
import Hummingbird
import ResticManagerCore

/// Links to the next page of a keyset-paginated list, keeping its filters
/// and the page size the reader asked for.
enum PageLink {
    static func next(_ path: String, cursor: Int64?, request: Request,
                     keeping filters: [(name: String, value: String)] = []) -> String? {
        guard let cursor else { return nil }
        let limit = request.uri.queryParameters["limit"].map(String.init) ?? ""
        var components = URLComponents()
        components.path = path
        components.queryItems = [URLQueryItem(name: "cursor", value: PageCursor.encode(cursor))]
            + (filters + [("limit", limit)]).filter { !$0.value.isEmpty }
                .map { URLQueryItem(name: $0.name, value: $0.value) }
        return components.string
    }

    /// `path?name=value&…` with names and values percent-encoded except
    /// RFC 3986's unreserved characters, so a `+`, `&` or non-ASCII letter
    /// in a file name survives the form decoding the pages read queries with.
    static func to(_ path: String, query: [(name: String, value: String)]) -> String {
        guard !query.isEmpty else { return path }
        return path + "?" + query.map { "\($0.name.percentEncodedUnreserved)=\($0.value.percentEncodedUnreserved)" }
            .joined(separator: "&")
    }
}
