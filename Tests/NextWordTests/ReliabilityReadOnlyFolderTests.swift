import Foundation
import XCTest
@testable import NextWord

/// A history in a folder the user cannot write (found from outside: `suggest`, `history stats`
/// and line mode exited 1, "attempt to write a readonly database", because SQLite's WAL reader
/// must create a -shm there). It is read, read-only, and nothing is created.
///
/// Folder permissions do not bind root, so as root the reading child drops to `nobody`
/// through `setpriv`; as another user it runs as that user.
final class ReliabilityReadOnlyFolderTests: XCTestCase {
    func testAHistoryInAReadOnlyFolderIsReadAndNothingIsCreated() throws {
        let launcher: [String]
        let owner: (uid: uid_t, gid: gid_t)
        if geteuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), let nobody = getpwnam("nobody") else {
                throw XCTSkip("needs setpriv and the user nobody to drop root")
            }
            owner = (nobody.pointee.pw_uid, nobody.pointee.pw_gid)
            launcher = ["/usr/bin/setpriv", "--reuid=\(owner.uid)", "--regid=\(owner.gid)", "--clear-groups"]
        } else {
            owner = (geteuid(), getegid())
            launcher = []
        }
        // A world-traversable parent (the child may not be the owner of the test's temporary folders).
        let root = URL(fileURLWithPath: "/tmp/nextword-rofolder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer {
            chmod(root.appendingPathComponent("nextword").path, 0o700)
            try? FileManager.default.removeItem(at: root)
        }
        let folder = root.appendingPathComponent("nextword")
        let history = folder.appendingPathComponent("history.sqlite")
        let seed = try HistoryStore(path: history)
        for _ in 0 ..< 3 { try seed.learn(tokens: ["hello", "world"]) }
        try seed.close()
        for path in [folder.path, history.path] { XCTAssertEqual(chown(path, owner.uid, owner.gid), 0, path) }
        XCTAssertEqual(chmod(folder.path, 0o500), 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertEqual(before, ["history.sqlite"])

        let child = try ChildProcess(mode: "read-only-folder", environment: ["NEXTWORD_CHILD_DB": history.path],
                                     errorLog: root.appendingPathComponent("child.log"), launcher: launcher)
        let lines = child.remainingLines()
        XCTAssertTrue(lines.contains("read 3 read-only true"), "\(lines.suffix(5)) \(child.errors.suffix(600))")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), before, "nothing created")
    }
}
