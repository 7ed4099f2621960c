// The system's libcrypto (OpenSSL), for SHA-256 only: the checksum of vocabularies and models.
#include <openssl/sha.h>
