import ResticManagerCore
import Testing

@Suite struct SemanticVersionTests {
    private func v(_ text: String) -> SemanticVersion { SemanticVersion(text)! }

    @Test(arguments: [
        ("0.9.0", "0.10.0"), ("0.1.0", "0.1.1"), ("1.9.9", "2.0.0"), ("0.10.0", "0.10.1"),
        ("1.0.0-alpha", "1.0.0"), ("1.0.0-alpha", "1.0.0-alpha.1"), ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-beta.2", "1.0.0-beta.11"), ("1.0.0-rc.1", "1.0.0"), ("9.99.999", "10.0.0"),
    ])
    func ordersNumericallyNotAsStrings(older: String, newer: String) {
        #expect(v(older) < v(newer))
        #expect(!(v(newer) < v(older)))
        #expect(v(newer) > v(older))
    }

    @Test func buildMetadataAndLeadingVAreIgnored() {
        #expect(v("1.2.3+build.7") == v("1.2.3"))
        #expect(v("v1.2.3") == v("1.2.3"))
        #expect(v("1.2.3").description == "1.2.3")
        #expect(v("1.2.3-rc.1").description == "1.2.3-rc.1")
    }

    @Test(arguments: ["", "1", "1.2", "1.2.3.4", "1.x.3", "-1.2.3", "1.2.3-", "1.2.3-a..b", "1..3", " 1.2.3", "1.2.3-é"])
    func rejectsWhatIsNotAVersion(text: String) {
        #expect(SemanticVersion(text) == nil)
    }
}
