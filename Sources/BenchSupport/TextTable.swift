import Foundation

/// Progress goes to stderr so stdout holds only the table.
public func progress(_ text: String) {
    FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
}

/// A fixed-width text table: the first `textColumns` cells of a row are
/// text, left-aligned; the others are numbers, right-aligned.
public struct TextTable {
    let header: [String]
    let rows: [[String]]
    let textColumns: Int

    public init(header: [String], rows: [[String]], textColumns: Int) {
        self.header = header
        self.rows = rows
        self.textColumns = textColumns
    }

    public func render() -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column < textColumns ? cell + padding : padding + cell
            }.joined(separator: " | ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
