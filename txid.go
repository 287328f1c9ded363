package flowglad

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// serverTxPrefix starts every transaction id that server code chose. Browsers may not send
// an id of this form (the route refuses it), so no browser can claim one beforehand.
const serverTxPrefix = "fgs:"

// serverTxDigest follows serverTxPrefix in the digest form; the readable form has digits
// there, so the two forms never meet.
const serverTxDigest = "h:"

// maxTxIDBytes is Flowglad's limit on a transaction id, 255 characters, counted in bytes
// of UTF-8: no more than 255 UTF-16 units (what a JavaScript length counts) or runes.
const maxTxIDBytes = 255

// ServerTransactionID returns the transaction id Flowglad stores for a usage event that
// server code records for the customer externalID with its own id (a job id, a request id
// it stored): Service.CreateUsageEvent, Service.BulkCreateUsageEvents, the middleware's
// SetTransactionID and the usage recorder all send this, never id itself.
//
// Flowglad counts one event per transaction id across the whole organization (browsers'
// ids included), so the server's ids are kept apart:
//   - out of a browser's reach: they start with "fgs:", a prefix the route refuses in a
//     browser's transactionId;
//   - distinct across customers: two customers whose jobs share an id are both billed;
//   - deterministic: the same customer and id give the same stored id, so a retried job,
//     or a failed event recorded again, counts once.
//
// The result reads "fgs:<length of externalID>:<externalID>:<id>" (the length keeps
// "a:b"+"c" apart from "a"+"b:c"), so Flowglad's dashboard shows the job; when that would
// pass Flowglad's 255 characters, it is "fgs:h:<SHA-256 of both, hex>:" followed by as much
// of id as fits.
//
// Pass the caller's own id (UsageEventParams.TransactionID as given, a
// UsageEventError.TransactionID), not an id this function returned: that would be
// derived again into another one.
func ServerTransactionID(externalID, id string) string {
	n := strconv.Itoa(len(externalID))
	if len(serverTxPrefix)+len(n)+1+len(externalID)+1+len(id) <= maxTxIDBytes {
		return serverTxPrefix + n + ":" + externalID + ":" + id
	}
	sum := sha256.Sum256([]byte(serverTxPrefix + n + ":" + externalID + ":" + id))
	head := serverTxPrefix + serverTxDigest + hex.EncodeToString(sum[:]) + ":"
	return head + cutBytes(id, maxTxIDBytes-len(head))
}

// cutBytes cuts s to at most n bytes without splitting a rune.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// isServerTxID reports whether a browser's transaction id is in the reserved form of
// ServerTransactionID, whatever its letter case.
func isServerTxID(id string) bool {
	return len(id) >= len(serverTxPrefix) && strings.EqualFold(id[:len(serverTxPrefix)], serverTxPrefix)
}
