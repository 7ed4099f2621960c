import NextWord
print("nextword \(NextWordInfo.version)")
