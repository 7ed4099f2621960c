import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system side of the history store: where the file lives, its permissions, recognising a
/// damaged file before SQLite touches it, and moving a damaged file aside.
enum HistoryFiles {
    /// The history file's companions that SQLite creates in WAL mode.
    static let companionSuffixes = ["-wal", "-shm"]

    /// `NEXTWORD_HISTORY`, else `$XDG_DATA_HOME/nextword/history.sqlite` (an XDG path must be
    /// absolute, per the XDG spec), else `~/.local/share/nextword/history.sqlite`.
    static func defaultPath(environment: [String: String]) -> URL {
        if let explicit = environment["NEXTWORD_HISTORY"], !explicit.isEmpty {
            return URL(fileURLWithPath: (explicit as NSString).expandingTildeInPath)
        }
        let base: URL
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            base = URL(fileURLWithPath: xdg, isDirectory: true)
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            base = URL(fileURLWithPath: home, isDirectory: true)
                .appendingPathComponent(".local", isDirectory: true)
                .appendingPathComponent("share", isDirectory: true)
        }
        return base.appendingPathComponent("nextword", isDirectory: true)
            .appendingPathComponent("history.sqlite")
    }

    /// Creates the missing directories above `file` with mode 0700. Directories that already exist
    /// are left alone: a custom path may live in a shared directory such as /tmp.
    static func createParentDirectories(of file: URL) throws {
        var missing: [String] = []
        var directory = file.deletingLastPathComponent().path
        while !directory.isEmpty, directory != "/" {
            var info = stat()
            if stat(directory, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw HistoryError.io(path: directory, message: "exists but is not a directory")
                }
                break
            }
            missing.append(directory)
            directory = (directory as NSString).deletingLastPathComponent
        }
        for path in missing.reversed() {
            if mkdir(path, 0o700) != 0, errno != EEXIST {
                throw posixError(path: path, action: "could not create directory")
            }
            // The umask may have removed bits we want; it can never add any, but say 0700 exactly.
            _ = chmod(path, 0o700)
        }
    }

    /// Refuses a history path that is a symbolic link, or whose -wal/-shm is one: a link would let
    /// the store write into, or change the mode of, a file that is not the user's history (a
    /// link planted by another user, a link to README.md). Nothing is followed or touched.
    static func refuseSymbolicLinks(_ file: URL) throws {
        for path in [file.path] + companionSuffixes.map({ file.path + $0 }) {
            var info = stat()
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
                throw HistoryError.io(path: path, message: "is a symbolic link; NextWord does not follow links for the "
                    + "user's history (point --history or NEXTWORD_HISTORY at the real file)")
            }
        }
    }

    /// Whether the file at `file` is recognisably a NextWord history: an SQLite header with
    /// NextWord's application id (offset 68). Only such a file may ever be moved aside as damaged.
    static func isOurHistory(_ file: URL) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { return false }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 72), header.count == 72 else { return false }
        let bytes = [UInt8](header)
        guard bytes[0..<16].elementsEqual(Array("SQLite format 3\0".utf8)) else { return false }
        return Int32(bitPattern: bigEndian32(bytes, at: 68)) == HistorySchema.applicationID
    }

    /// The folder NextWord made for the history (`…/nextword`, the default location) is private:
    /// if someone opened it up (0777), it is closed again. Other folders (a custom path in /tmp)
    /// are not ours to change.
    static func restrictOwnFolder(of file: URL) {
        let folder = file.deletingLastPathComponent()
        guard folder.lastPathComponent == "nextword" else { return }
        var info = stat()
        guard lstat(folder.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid(),
              info.st_mode & 0o077 != 0 else { return }
        _ = chmod(folder.path, 0o700)
    }

    /// Creates an empty file with mode 0600 if there is none, so that SQLite (which copies the
    /// database file's mode onto -wal and -shm) never creates anything more open.
    static func createFileIfMissing(_ file: URL) throws {
        let fd = open(file.path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode_t(0o600))
        if fd < 0 {
            if errno == EEXIST { return }
            throw posixError(path: file.path, action: "could not create the history file")
        }
        _ = fchmod(fd, 0o600)
        close(fd)
    }

    /// Takes group and other permissions off the file and its -wal/-shm (0644 becomes 0600, 0444
    /// becomes 0400): learned text is private. Throws `.permissions` when that is not possible.
    static func restrictPermissions(_ file: URL) throws {
        for path in [file.path] + companionSuffixes.map({ file.path + $0 }) {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw HistoryError.io(path: path, message: "not a regular file")
            }
            let mode = info.st_mode & 0o777
            guard mode & 0o077 != 0 else { continue }
            // Only a file of this user's: never change the mode of someone else's file.
            guard info.st_uid == geteuid() else {
                throw HistoryError.permissions(path: path, problem: "mode \(octal(mode)) lets other users read learned text, "
                    + "and the file belongs to another user, so NextWord does not change it")
            }
            if chmod(path, mode & 0o700) != 0 {
                let reason = String(cString: strerror(errno))
                throw HistoryError.permissions(
                    path: path,
                    problem: "mode \(octal(mode)) lets other users read learned text and could not be "
                        + "changed to \(octal(mode & 0o700)): \(reason)")
            }
        }
    }

    /// Gives the owner back read and write on our -wal and -shm: after the user made the history
    /// read-only for a while (chmod 400, then 600), SQLite had left its side files at 0400 and every
    /// later write failed until someone deleted the -shm. Only files of this user's, only the owner
    /// bits, and only when the main file itself is writable again.
    static func repairCompanionModes(_ file: URL) {
        var main = stat()
        guard lstat(file.path, &main) == 0, main.st_mode & S_IWUSR != 0 else { return }
        for path in companionSuffixes.map({ file.path + $0 }) {
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid() else { continue }
            let mode = info.st_mode & 0o777
            if mode & 0o600 != 0o600 { _ = chmod(path, (mode | 0o600) & 0o700) }
        }
    }

    /// Why the file cannot be written, or nil when it can. A file whose owner write bit is off is
    /// treated as read-only even for root: the user marked it so.
    static func notWritableReason(_ file: URL) -> String? {
        var info = stat()
        if stat(file.path, &info) == 0, info.st_mode & S_IWUSR == 0 {
            return "the file's write permission is off (mode \(octal(info.st_mode & 0o777)))"
        }
        if access(file.path, W_OK) != 0 {
            return "the file is not writable by this user"
        }
        if access(file.deletingLastPathComponent().path, W_OK) != 0 {
            return "its directory is not writable (SQLite keeps its -wal and -shm files there)"
        }
        return nil
    }

    /// What the first 100 bytes say about the file.
    enum HeaderState: Equatable {
        /// Zero bytes: a new database.
        case empty
        /// A plausible SQLite database.
        case sqlite
    }

    /// Says precisely why SQLite refused a file (not SQLite, bad page size, truncated), throwing
    /// `.corrupt`. Call it only once SQLite has found the file damaged: closing this descriptor
    /// drops every POSIX lock the process holds on the file, including those of live connections
    /// (see `HistoryStore.init`).
    static func inspectHeader(_ file: URL) throws -> HeaderState {
        let path = file.path
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: file)
        } catch {
            throw HistoryError.permissions(path: path, problem: "cannot be read: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let fileSize: UInt64
        let header: Data
        do {
            fileSize = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            header = try handle.read(upToCount: 100) ?? Data()
        } catch {
            throw HistoryError.io(path: path, message: "cannot be read: \(error.localizedDescription)")
        }
        if fileSize == 0 { return .empty }
        let bytes = [UInt8](header)
        guard bytes.count == 100 else {
            throw HistoryError.corrupt(path: path, problem: "only \(fileSize) bytes, shorter than an SQLite header")
        }
        guard bytes[0..<16].elementsEqual(Array("SQLite format 3\0".utf8)) else {
            throw HistoryError.corrupt(path: path, problem: "not an SQLite database (wrong magic bytes)")
        }
        let rawPageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        guard pageSize >= 512, pageSize <= 65_536, pageSize & (pageSize - 1) == 0 else {
            throw HistoryError.corrupt(path: path, problem: "invalid page size \(rawPageSize) in the header")
        }
        // The page count at offset 28 is trustworthy when the "version-valid-for" number at 92
        // equals the change counter at 24. A non-empty WAL may still hold pages of an interrupted
        // checkpoint, so only judge the length when there is none.
        let changeCounter = bigEndian32(bytes, at: 24)
        let validFor = bigEndian32(bytes, at: 92)
        let declaredPages = UInt64(bigEndian32(bytes, at: 28))
        if changeCounter == validFor, declaredPages > 0, !hasNonEmptyWAL(file) {
            let declaredBytes = declaredPages * UInt64(pageSize)
            if fileSize < declaredBytes {
                throw HistoryError.corrupt(
                    path: path,
                    problem: "truncated: the header declares \(declaredPages) pages of \(pageSize) bytes "
                        + "(\(declaredBytes) bytes) but the file has \(fileSize)")
            }
        }
        return .sqlite
    }

    /// What a moved-aside damaged copy's name holds after the history's name (`HistoryClearing`
    /// finds the copies by it).
    static let damagedInfix = ".damaged-"

    /// Renames the damaged file and its -wal/-shm to `<name>.damaged-YYYYMMDD-HHMMSS` (local time;
    /// a counter is appended if that name is taken) and returns the new location of the main file.
    static func moveAside(_ file: URL, now: Date) throws -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let stem = file.lastPathComponent + damagedInfix + formatter.string(from: now)
        let directory = file.deletingLastPathComponent()
        var destination = directory.appendingPathComponent(stem)
        var attempt = 1
        while FileManager.default.fileExists(atPath: destination.path) {
            attempt += 1
            destination = directory.appendingPathComponent("\(stem)-\(attempt)")
        }
        for suffix in [""] + companionSuffixes {
            let source = file.path + suffix
            guard FileManager.default.fileExists(atPath: source) else { continue }
            if rename(source, destination.path + suffix) != 0 {
                throw posixError(path: source, action: "could not move the damaged history aside")
            }
        }
        return destination
    }

    /// Bytes of the file plus its WAL, 0 for what does not exist.
    static func sizeOnDisk(_ file: URL) -> Int64 {
        [file.path, file.path + "-wal"].reduce(Int64(0)) { total, path in
            var info = stat()
            return stat(path, &info) == 0 ? total + Int64(info.st_size) : total
        }
    }

    private static func hasNonEmptyWAL(_ file: URL) -> Bool {
        var info = stat()
        return stat(file.path + "-wal", &info) == 0 && info.st_size > 0
    }

    private static func bigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }

    private static func posixError(path: String, action: String) -> HistoryError {
        let code = errno
        let reason = String(cString: strerror(code))
        if code == EACCES || code == EPERM || code == EROFS {
            return .permissions(path: path, problem: "\(action): \(reason)")
        }
        return .io(path: path, message: "\(action): \(reason)")
    }
}
