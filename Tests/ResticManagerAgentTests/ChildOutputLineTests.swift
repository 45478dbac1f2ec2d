import Testing

@testable import ResticManagerAgent

@Suite struct ChildOutputLineTests {
    @Test func terminalControlSequencesAreRemoved() {
        // What restic prints on stderr when it is interrupted.
        #expect(ChildOutputLine(stream: .stderr, text: "\u{1B}[2Ksignal interrupt received, cleaning up").text
            == "signal interrupt received, cleaning up")
        #expect(ChildOutputLine(stream: .stdout, text: "\u{1B}[1;31mred\u{1B}[0m text\u{1B}M").text == "red text")
    }

    @Test func plainLinesAndJSONStayByteForByte() {
        let json = #"{"message_type":"status","percent_done":0.5,"current_files":["/a[1]"]}"#
        #expect(ChildOutputLine(stream: .stdout, text: json).text == json)
        #expect(ChildOutputLine(stream: .stderr, text: "Fatal: [bracket] stays").text == "Fatal: [bracket] stays")
    }
}
