import Foundation
#if canImport(CommonCrypto)
import CommonCrypto
#else
import CLibCrypto
#endif

/// SHA-256 from the system's cryptography library (libcrypto on Linux, CommonCrypto on Apple
/// systems): the checksum that ties a model to its vocabulary.
package enum Hashing {
    /// SHA-256 of `data`, as 64 lowercase hex digits.
    public static func sha256Hex(_ data: Data) -> String {
        data.withUnsafeBytes { sha256Hex(bytes: $0) }
    }

    /// SHA-256 of bytes in memory, without copying them (a model's weights are megabytes).
    public static func sha256Hex(bytes: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        #if canImport(CommonCrypto)
        _ = CC_SHA256(bytes.baseAddress, CC_LONG(bytes.count), &digest)
        #else
        _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &digest)
        #endif
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
