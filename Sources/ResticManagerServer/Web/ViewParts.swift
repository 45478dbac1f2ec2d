/// A labelled value in a `<dl>`.
struct Fact {
    let label: String
    let value: String
}

/// One `<option>` of a `<select>`.
struct Choice {
    let value: String
    let selected: Bool
}
