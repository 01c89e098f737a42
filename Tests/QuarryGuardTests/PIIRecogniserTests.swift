import QuarryGuard
import Testing

/// Each recogniser through the public detector: what it finds (with exact spans) and the
/// near misses it must leave alone.
@Suite struct PIIRecogniserTests {
    let detector = PIIDetector()

    /// The (entity, matched text) pairs found in `text`.
    func found(_ text: String, _ detector: PIIDetector? = nil) -> [String] {
        (detector ?? self.detector).findings(in: text).map { "\($0.entity.rawValue):\($0.text)" }
    }

    // MARK: e-mail

    @Test func emailAddresses() {
        #expect(found("Send it to maria.gonzalez@acme-legal.com by Friday.") == ["email:maria.gonzalez@acme-legal.com"])
        #expect(found("CC: o'brien.k@uni.ac.uk, d_smith99@mail.co.nz") == ["email:o'brien.k@uni.ac.uk", "email:d_smith99@mail.co.nz"])
        #expect(found("Écrivez à léa.dubois@exemple.fr.") == ["email:léa.dubois@exemple.fr"])
        #expect(found("<noreply@notifications.github.com>") == ["email:noreply@notifications.github.com"])
    }

    @Test func emailNearMisses() {
        #expect(found("ping @janedoe and @jd") == [])
        #expect(found("npm i lodash@4.17.21") == [])
        #expect(found("use logo@2x.png on retina screens") == [])
        #expect(found("admin@localhost only inside the container") == [])
        #expect(found("a@b.c is too short a TLD") == [])
        #expect(found("dots..twice@example.com") == [])
    }

    // MARK: phone

    @Test func phoneNumbersInCommonForms() {
        #expect(found("Call me at (415) 555-2671 after 6pm.") == ["phone:(415) 555-2671"])
        #expect(found("Toll free 1-800-555-0199.") == ["phone:1-800-555-0199"])
        #expect(found("Tel. +44 20 7946 0958") == ["phone:+44 20 7946 0958"])
        #expect(found("+49 (0)89 12345678") == ["phone:+49 (0)89 12345678"])
        #expect(found("portable : 06 12 34 56 78") == ["phone:06 12 34 56 78"])
        #expect(found("at 415.555.2671 ext. 204 today") == ["phone:415.555.2671 ext. 204"])
        #expect(found("Moscow +7 (495) 123-45-67") == ["phone:+7 (495) 123-45-67"])
    }

    @Test func weakPhoneShapesNeedAContextWord() {
        #expect(found("the code is 555-0134") == [])
        #expect(found("for the pharmacy call 555-0134") == ["phone:555-0134"])
        #expect(found("value 5551234567") == [])
        #expect(found("phone: 5551234567") == ["phone:5551234567"])
        #expect(found("answering at 699 956 915 office") == ["phone:699 956 915"])
    }

    @Test func phoneNearMisses() {
        #expect(found("Meeting on 12.03.2024 and 2024-03-12, deadline 3/12/24.") == [])
        #expect(found("Released 2019-2021; pages 123-145.") == [])
        #expect(found("ISBN 978-3-16-148410-0") == [])
        #expect(found("ISBN-13: 9780306406157") == [])
        #expect(found("Upgrade to version 2.14.0.1") == [])
        #expect(found("Population 8 336 817 in 2020") == [])
        #expect(found("Total: $1,234,567.89 (up 12.5%)") == [])
        #expect(found("Solve 555 + 123 = 678") == [])
        #expect(found("Order #123-4567-8901 confirmed") == [])
        #expect(found("Timestamps 1700000000 and 1700003600") == [])
        #expect(found("GUID 3f2504e0-4f89-11d3-9a0c-0305e82c3301") == [])
    }

    // MARK: payment cards

    @Test func paymentCardsPassingLuhnWithKnownIssuers() {
        #expect(found("Visa 4111 1111 1111 1111 exp 12/27") == ["credit_card:4111 1111 1111 1111"])
        #expect(found("MC 5555-5555-5555-4444") == ["credit_card:5555-5555-5555-4444"])
        #expect(found("AmEx 3782 822463 10005") == ["credit_card:3782 822463 10005"])
        #expect(found("number 6011111111111117") == ["credit_card:6011111111111117"])
        #expect(found("2-series 2223003122003222") == ["credit_card:2223003122003222"])
        let score = detector.findings(in: "4111111111111111").first?.score ?? 0
        #expect(score >= 0.8)
    }

    @Test func paymentCardNearMisses() {
        // Luhn fails (last digit changed).
        #expect(found("number 4111 1111 1111 1112") == [])
        #expect(found("card 5555-5555-5555-4445") == [])
        // Card-like digits inside longer runs, or in groupings cards do not use.
        #expect(found("Tracking 9400 1000 0000 0000 0000 00") == [])
        #expect(found("4111-1111-1111-1111-1") == [])
        #expect(found("41 1111 1111 111111") == [])
        // Luhn passes but an order-number word stands before it.
        #expect(found("Order number 4111111111111111") == [])
        // IMEI: 15 digits with a Luhn digit and no issuer.
        #expect(found("IMEI 490154203237518") == [])
    }

    // MARK: IBAN

    @Test func ibansWithValidCheckDigits() {
        #expect(found("auf DE89 3704 0044 0532 0130 00 (Bank)") == ["iban:DE89 3704 0044 0532 0130 00"])
        #expect(found("IBAN: GB82WEST12345698765432") == ["iban:GB82WEST12345698765432"])
        #expect(found("sur FR14 2004 1010 0505 0001 3M02 606.") == ["iban:FR14 2004 1010 0505 0001 3M02 606"])
        #expect(found("CH93 0076 2011 6238 5295 7") == ["iban:CH93 0076 2011 6238 5295 7"])
        #expect(found("iban pl61109010140000071219812874") == ["iban:pl61109010140000071219812874"])
    }

    @Test func ibanNearMisses() {
        #expect(found("DE88 3704 0044 0532 0130 00") == [])  // check digits off by one
        #expect(found("DE89 3704 0044 0532 0130 0") == [])  // one character short for DE
        #expect(found("DE89370400440532013000X") == [])  // glued to more text
        #expect(found("Product code DE12 ABCD 3456") == [])
        #expect(found("QQ89370400440532013000") == [])  // no such country
    }

    // MARK: US SSN

    @Test func socialSecurityNumbers() {
        #expect(found("Employee 536-22-1234 on file") == ["us_ssn:536-22-1234"])
        #expect(found("Social Security Number 412 87 6543") == ["us_ssn:412 87 6543"])
        #expect(found("ssn 387543210 (no dashes)") == ["us_ssn:387543210"])
    }

    @Test func socialSecurityNearMisses() {
        #expect(found("ssn 999-12-3456") == [])  // area 9xx is never issued
        #expect(found("ssn 000-12-3456, 666-12-3456") == [])
        #expect(found("ssn 123-00-4567, 123-45-0000") == [])  // group 00, serial 0000
        #expect(found("ssn 123-45-6789 and 078-05-1120") == [])  // published examples
        #expect(found("ssn 111-11-1111") == [])
        #expect(found("ssn 536-22.1234") == [])  // mixed separators
        #expect(found("Reference 387543210 for your parcel") == [])  // bare digits need context
        #expect(found("Spaced 412 87 6543 without a word") == [])
    }

    // MARK: IP addresses

    @Test func ipAddresses() {
        #expect(found("from 203.0.113.45 and 198.51.100.7.") == ["ip_address:203.0.113.45", "ip_address:198.51.100.7"])
        #expect(found("listens on 10.0.0.12:8080") == ["ip_address:10.0.0.12"])
        #expect(found("Subnet 192.168.10.0/24 is reserved") == ["ip_address:192.168.10.0/24"])
        #expect(found("gateway 2001:db8:85a3::8a2e:370:7334") == ["ip_address:2001:db8:85a3::8a2e:370:7334"])
        #expect(found("fe80:0000:0000:0000:0202:b3ff:fe1e:8329 on eth0") == ["ip_address:fe80:0000:0000:0000:0202:b3ff:fe1e:8329"])
        #expect(found("mapped ::ffff:192.0.2.128 here") == ["ip_address:::ffff:192.0.2.128"])
        #expect(found("public DNS 8.8.8.8 and 1.1.1.1") == ["ip_address:8.8.8.8", "ip_address:1.1.1.1"])
    }

    @Test func ipNearMisses() {
        #expect(found("Address 256.1.1.1 is not valid") == [])
        #expect(found("nor is 192.168.1 a full address") == [])
        #expect(found("Upgrade to version 1.2.3.4 first") == [])
        #expect(found("Windows build 10.0.19045.3693") == [])
        #expect(found("The OID 1.3.6.1.4.1.311 is Microsoft's") == [])
        #expect(found("Table 3.2.1.4 lists them") == [])
        #expect(found("MAC 00:1A:2B:3C:4D:5E on port 12") == [])
        #expect(found("ran from 12:30:45 to 13:02:11") == [])
        #expect(found("Use std::vector and Foo::Bar") == [])
        #expect(found("bad 2001:db8::1::2 twice compressed") == [])
        #expect(found("leading zero 192.168.01.1") == [])
    }
}
