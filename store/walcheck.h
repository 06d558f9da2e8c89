/*  store/walcheck.h: refuse a WAL that is corrupt in the middle.

    RocksDB's kTolerateCorruptedTailRecords mode drops a damaged record at
    the end of the WAL as a torn tail. But a damaged length field in the
    last, partial 32 KiB block looks like a torn tail to RocksDB too, and it
    then drops every acknowledged record after it without a word. A crash
    can only tear the last record: so if any intact record (valid header,
    checksum right) follows a damaged one, the damage is corruption, not a
    torn tail, and fednode refuses to open rather than lose acknowledged
    events.

    The check reads RocksDB's legacy WAL format (32 KiB blocks of records:
    masked CRC32C ‖ length (2, little-endian) ‖ type ‖ payload). A WAL in the
    recyclable format is not checked (fednode never enables log recycling).
*/
#ifndef FED_WALCHECK_H_INCLUDED
#define FED_WALCHECK_H_INCLUDED

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Checks every WAL file (NNNNNN.log) in the RocksDB directory db_path.
//  Returns 0 if each is intact or has only a torn tail (or the directory
//  does not exist yet), -1 with err naming the file, the offset and the fix
//  when a damaged record is followed by an intact one.
int fed_walcheck_dir (const char *db_path, fed_err_t *err) FED_MUST_USE;

//  Checks one WAL image in memory. Returns 0 or -1; *damage_p (if given)
//  gets the offset of the damaged record.
int fed_walcheck_buffer (const uint8_t *data, size_t size, size_t *damage_p) FED_MUST_USE;

//  CRC32C (Castagnoli) of size bytes, continuing from crc (0 to start).
uint32_t fed_crc32c (uint32_t crc, const uint8_t *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif
