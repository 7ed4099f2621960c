import Foundation

extension SafeTensors {
    /// One tensor to write: its elements are stored as `dtype` (rounded to nearest-even for `F16`).
    public struct TensorData: Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var values: ArraySlice<Float>

        public init(name: String, dtype: DType, shape: [Int], values: ArraySlice<Float>) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.values = values
        }
    }

    /// The bytes of a safetensors file holding `tensors` in the given order, data contiguous.
    ///
    /// Like the reference writer, the header is padded with spaces so the data section starts on an
    /// 8-byte boundary. Throws `ModelError.invalidInput` for a name used twice (or `__metadata__`)
    /// or a shape that does not match the number of values.
    public static func encode(_ tensors: [TensorData], metadata: [String: String] = [:]) throws -> Data {
        var names = Set<String>()
        var header = "{"
        var first = true
        func separator() { if !first { header += "," }; first = false }
        if !metadata.isEmpty {
            separator()
            header += "\"__metadata__\":{"
            header += metadata.sorted { $0.key < $1.key }
                .map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            header += "}"
        }
        var offset = 0
        for tensor in tensors {
            guard tensor.name != "__metadata__", names.insert(tensor.name).inserted else {
                throw ModelError.invalidInput("safetensors: tensor name \"\(tensor.name)\" is reserved or used twice")
            }
            var elements = 1
            for size in tensor.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: size)
                guard size >= 0, !overflow else {
                    throw ModelError.invalidInput("safetensors: tensor \"\(tensor.name)\" has an invalid shape \(tensor.shape)")
                }
                elements = product
            }
            guard elements == tensor.values.count else {
                throw ModelError.invalidInput("safetensors: tensor \"\(tensor.name)\" has shape \(tensor.shape) but \(tensor.values.count) values")
            }
            let end = offset + elements * tensor.dtype.byteCount
            separator()
            header += "\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\","
                + "\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for tensor in tensors {
            switch tensor.dtype {
            case .float32:
                #if _endian(little)
                tensor.values.withUnsafeBytes { data.append(contentsOf: $0) }
                #else
                for value in tensor.values {
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
                }
                #endif
            case .float16:
                let halves = tensor.values.map { Half.bits(from: $0).littleEndian }
                halves.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// IEEE 754 binary16 <-> binary32 conversion done on the bits.
    ///
    /// Swift's `Float16` is missing on some targets (macOS on Intel), so the conversion is written
    /// out by hand: round to nearest, ties to even; subnormals kept; overflow to infinity; NaN stays
    /// NaN (quiet, sign and top payload bits kept). The tests check it against `Float16` where that
    /// type exists and over all 65 536 half values.
    enum Half {
        /// The exact `Float` value of a binary16 bit pattern (every half is representable).
        static func float(fromBits half: UInt16) -> Float {
            let sign = UInt32(half & 0x8000) << 16
            let exponent = UInt32(half >> 10) & 0x1F
            let mantissa = UInt32(half & 0x3FF)
            switch exponent {
            case 0:
                // Zero or subnormal: mantissa × 2^-24, exact in Float.
                let magnitude = Float(mantissa) * 0x1p-24
                return sign == 0 ? magnitude : -magnitude
            case 0x1F:
                return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
            default:
                // Rebias the exponent from 15 to 127.
                return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
            }
        }

        /// The binary16 bit pattern nearest to `value` (ties to even).
        static func bits(from value: Float) -> UInt16 {
            let bits = value.bitPattern
            let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
            let exponent = Int(bits >> 23) & 0xFF
            let mantissa = bits & 0x7F_FFFF
            if exponent == 0xFF {
                if mantissa == 0 { return sign | 0x7C00 }
                // NaN: force the quiet bit so dropping low payload bits can never make it infinity.
                return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
            }
            let halfExponent = exponent - 127 + 15
            if halfExponent >= 0x1F { return sign | 0x7C00 }
            if halfExponent <= 0 {
                // Result is subnormal (or zero): the value is full × 2^(exponent-150) with the implicit
                // bit made explicit, and a half subnormal counts units of 2^-24, so shift by
                // 126 - exponent = 14 - halfExponent. Below 2^-25 everything rounds to zero.
                if halfExponent < -10 { return sign }
                let full = mantissa | 0x80_0000
                let shift = UInt32(14 - halfExponent)
                return sign | UInt16(roundShift(full, by: shift))
            }
            // Normal: a carry out of the mantissa bumps the exponent, up to infinity: both correct.
            let combined = UInt32(halfExponent) << 23 | mantissa
            return sign | UInt16(roundShift(combined, by: 13))
        }

        /// `value >> shift`, rounded to nearest with ties to even.
        private static func roundShift(_ value: UInt32, by shift: UInt32) -> UInt32 {
            let kept = value >> shift
            let remainder = value & ((1 << shift) - 1)
            let halfway: UInt32 = 1 << (shift - 1)
            if remainder > halfway || (remainder == halfway && kept & 1 == 1) { return kept + 1 }
            return kept
        }
    }
}
