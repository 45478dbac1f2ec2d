import Foundation
import Hummingbird

/// `{"items": […], "next_cursor": …|null}` (SPEC §7.1).
struct ListResponse<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    let items: [Item]
    @ExplicitNull var nextCursor: String?

    init<Record>(_ page: PageResult<Record>, map: (Record) throws -> Item) rethrows {
        items = try page.items.map(map)
        nextCursor = page.nextCursor.map(PageCursor.encode)
    }
}

/// Opaque list cursors and the `limit` parameter.
enum PageCursor {
    static func encode(_ rowID: Int64) -> String {
        Data("r\(rowID)".utf8).base64EncodedString()
    }

    /// The request's `limit` and cursor; the cursor travels in
    /// `cursorParameter` (a page listing two lists at once names them apart).
    static func page(from request: Request, cursorParameter: String = "cursor") throws -> Page {
        var page = Page()
        if let limitText = request.uri.queryParameters["limit"] {
            guard let limit = Int(limitText), (1...Page.maxLimit).contains(limit) else {
                throw APIError.validation("limit", "must be an integer from 1 to \(Page.maxLimit)")
            }
            page.limit = limit
        }
        if let cursor = request.uri.queryParameters[Substring(cursorParameter)], !cursor.isEmpty {
            guard cursor.count <= 64, let data = Data(base64Encoded: String(cursor)),
                let text = String(data: data, encoding: .utf8), text.first == "r", let rowID = Int64(text.dropFirst()),
                rowID >= 0
            else { throw APIError.validation(cursorParameter, "is not a cursor this server returned") }
            page.beforeRowID = rowID
        }
        return page
    }
}
