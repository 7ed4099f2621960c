import XCTest
@testable import NextWord

final class ParameterLayoutTests: XCTestCase {
    func testLayoutCountsTiedAndUntied() throws {
        var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 10,
                                 embeddingSize: 4, hiddenSize: 4, layers: 2, tied: true)
        let tied = ParameterLayout(config)
        XCTAssertEqual(tied.totalCount, 10 * 4 + 2 * (16 * 4 + 16 * 4 + 16 + 16) + 10)
        XCTAssertNil(tied.tensor(named: "decoder.weight"))
        config.tied = false
        XCTAssertEqual(ParameterLayout(config).totalCount, tied.totalCount + 40)
        config.tied = true
        config.hiddenSize = 5
        XCTAssertThrowsError(try config.validate())
    }
}
