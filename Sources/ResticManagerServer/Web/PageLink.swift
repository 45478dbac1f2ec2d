import Foundation

/// Links to the next page of a keyset-paginated list, keeping its filters.
enum PageLink {
    static func next(_ path: String, cursor: Int64?, keeping filters: [(name: String, value: String)] = []) -> String? {
        guard let cursor else { return nil }
        var components = URLComponents()
        components.path = path
        components.queryItems = [URLQueryItem(name: "cursor", value: PageCursor.encode(cursor))]
            + filters.filter { !$0.value.isEmpty }.map { URLQueryItem(name: $0.name, value: $0.value) }
        return components.string
    }
}
