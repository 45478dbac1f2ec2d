import Foundation
import Hummingbird

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
}
