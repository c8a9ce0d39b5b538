/*
 * A stand-in for WinDivert.dll (WinDivert 2.2) that runs on Linux, so the agent's real koffi
 * binding can be exercised here. It exports the same function names with the same parameter
 * types and the same WINDIVERT_ADDRESS layout, keeps a "driver" queue that tests fill through the
 * Double_* control functions, and records every packet sent back with its address.
 *
 * Failures set errno to the Windows error code the real library would leave in GetLastError()
 * (the binding reads errno through koffi off Windows). Behaviour copied from the documentation:
 * batches of up to 255 packed back to back, ERROR_INSUFFICIENT_BUFFER (122) when the first queued
 * packet does not fit, ERROR_NO_DATA (232) after WinDivertShutdown(RECV) once the queue is empty,
 * parameter ranges, queue length limit (packets beyond it are dropped, like the driver does), and
 * for impostor packets a TTL/HopLimit decrement with ERROR_HOST_UNREACHABLE (1232) at zero.
 *
 * Built by the test suite: gcc -shared -fPIC -pthread -o libwindivert_double.so windivert_double.c
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int BOOL;
typedef unsigned int UINT;
typedef void *HANDLE;

#define TRUE 1
#define FALSE 0
#define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)

#define ERROR_INVALID_HANDLE 6
#define ERROR_INVALID_PARAMETER 87
#define ERROR_INSUFFICIENT_BUFFER 122
#define ERROR_NO_DATA 232
#define ERROR_HOST_UNREACHABLE 1232

/* Facts from WinDivert 2.2's public header (names and values, not its code). */
enum { LAYER_NETWORK = 0, LAYER_MAX = 4 };
enum { PARAM_QUEUE_LENGTH = 0, PARAM_QUEUE_TIME = 1, PARAM_QUEUE_SIZE = 2, PARAM_VERSION_MAJOR = 3, PARAM_VERSION_MINOR = 4 };
enum { SHUTDOWN_RECV = 1, SHUTDOWN_SEND = 2 };
#define FLAG_SNIFF 0x1
#define FLAG_DROP 0x2
#define FLAG_RECV_ONLY 0x4
#define FLAG_SEND_ONLY 0x8
#define FLAG_NO_INSTALL 0x10
#define BATCH_MAX 255
#define MTU_MAX (40 + 0xFFFF)

typedef struct {
    uint32_t IfIdx;
    uint32_t SubIfIdx;
} WINDIVERT_DATA_NETWORK;

typedef struct {
    int64_t Timestamp;
    uint32_t Layer : 8;
    uint32_t Event : 8;
    uint32_t Sniffed : 1;
    uint32_t Outbound : 1;
    uint32_t Loopback : 1;
    uint32_t Impostor : 1;
    uint32_t IPv6 : 1;
    uint32_t IPChecksum : 1;
    uint32_t TCPChecksum : 1;
    uint32_t UDPChecksum : 1;
    uint32_t Reserved1 : 8;
    uint32_t Reserved2;
    union {
        WINDIVERT_DATA_NETWORK Network;
        uint8_t Reserved3[64];
    };
} WINDIVERT_ADDRESS;

typedef struct packet {
    struct packet *next;
    WINDIVERT_ADDRESS addr;
    uint32_t len;
    uint8_t bytes[];
} packet_t;

typedef struct {
    int shut_recv;
    int shut_send;
    int closed;
} handle_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;

static packet_t *queue_head, *queue_tail;
static uint32_t queue_count, dropped;
static packet_t **sent;
static uint32_t sent_count, sent_cap;
static uint32_t recv_calls, send_calls, open_count, close_count;
static uint64_t params[5] = {4096, 2000, 4194304, 2, 2};
static char *last_filter;
static int64_t last_layer, last_priority;
static uint64_t last_flags;
static int fail_open_code;

/* ---- helpers ---- */

static uint32_t ip_packet_length(const uint8_t *p, uint32_t avail)
{
    if (avail < 1) return 0;
    uint8_t version = p[0] >> 4;
    if (version == 4 && avail >= 20) return ((uint32_t)p[2] << 8) | p[3];
    if (version == 6 && avail >= 40) return 40 + (((uint32_t)p[4] << 8) | p[5]);
    return 0;
}

static void free_list(packet_t *p)
{
    while (p) {
        packet_t *next = p->next;
        free(p);
        p = next;
    }
}

/* Impostor packets: the driver decrements TTL/HopLimit before reinjection and refuses at zero. */
static int decrement_ttl(uint8_t *p, uint32_t len)
{
    if (len >= 20 && (p[0] >> 4) == 4) {
        if (p[8] <= 1) return 0;
        p[8]--;
        /* RFC 1624 incremental update of the header checksum for the TTL byte (high half of word 4). */
        uint32_t sum = (uint16_t)~(((uint32_t)p[10] << 8) | p[11]);
        sum += (uint16_t)~(uint16_t)(((uint32_t)(p[8] + 1) << 8) | p[9]);
        sum += (((uint32_t)p[8] << 8) | p[9]);
        while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
        uint16_t check = (uint16_t)~sum;
        p[10] = check >> 8;
        p[11] = check & 0xFF;
        return 1;
    }
    if (len >= 40 && (p[0] >> 4) == 6) {
        if (p[7] <= 1) return 0;
        p[7]--;
        return 1;
    }
    return 0;
}

static BOOL fail(int code)
{
    errno = code;
    return FALSE;
}

/* ---- the WinDivert API ---- */

HANDLE WinDivertOpen(const char *filter, int layer, int16_t priority, uint64_t flags)
{
    if (filter == NULL || layer < 0 || layer > LAYER_MAX || priority < -30000 || priority > 30000 ||
        (flags & ~(uint64_t)0x1F) || ((flags & FLAG_SNIFF) && (flags & FLAG_DROP)) ||
        ((flags & FLAG_RECV_ONLY) && (flags & FLAG_SEND_ONLY))) {
        errno = ERROR_INVALID_PARAMETER;
        return INVALID_HANDLE_VALUE;
    }
    pthread_mutex_lock(&lock);
    if (fail_open_code) {
        errno = fail_open_code;
        pthread_mutex_unlock(&lock);
        return INVALID_HANDLE_VALUE;
    }
    free(last_filter);
    last_filter = strdup(filter);
    last_layer = layer;
    last_priority = priority;
    last_flags = flags;
    open_count++;
    pthread_mutex_unlock(&lock);
    return calloc(1, sizeof(handle_t));
}

BOOL WinDivertRecvEx(HANDLE handle, void *pPacket, UINT packetLen, UINT *pRecvLen, uint64_t flags,
                     WINDIVERT_ADDRESS *pAddr, UINT *pAddrLen, void *lpOverlapped)
{
    handle_t *h = handle;
    if (h == NULL || handle == INVALID_HANDLE_VALUE) return fail(ERROR_INVALID_HANDLE);
    if (flags != 0 || lpOverlapped != NULL || pPacket == NULL || pAddr == NULL) return fail(ERROR_INVALID_PARAMETER);
    uint32_t max = pAddrLen ? *pAddrLen / sizeof(WINDIVERT_ADDRESS) : 1;
    if (max == 0) return fail(ERROR_INVALID_PARAMETER);
    if (max > BATCH_MAX) max = BATCH_MAX;

    pthread_mutex_lock(&lock);
    recv_calls++;
    while (queue_head == NULL && !h->shut_recv && !h->closed) pthread_cond_wait(&queued, &lock);
    if (queue_head == NULL) {
        pthread_mutex_unlock(&lock);
        return fail(ERROR_NO_DATA);
    }
    uint32_t n = 0, used = 0;
    while (queue_head && n < max && used + queue_head->len <= packetLen) {
        packet_t *p = queue_head;
        memcpy((uint8_t *)pPacket + used, p->bytes, p->len);
        pAddr[n] = p->addr;
        used += p->len;
        n++;
        queue_head = p->next;
        if (!queue_head) queue_tail = NULL;
        queue_count--;
        free(p);
    }
    if (n == 0) {
        /* The first packet is larger than the buffer: WinDivert truncates it and fails. */
        packet_t *p = queue_head;
        memcpy(pPacket, p->bytes, packetLen);
        pAddr[0] = p->addr;
        queue_head = p->next;
        if (!queue_head) queue_tail = NULL;
        queue_count--;
        free(p);
        pthread_mutex_unlock(&lock);
        if (pRecvLen) *pRecvLen = packetLen;
        if (pAddrLen) *pAddrLen = sizeof(WINDIVERT_ADDRESS);
        return fail(ERROR_INSUFFICIENT_BUFFER);
    }
    pthread_mutex_unlock(&lock);
    if (pRecvLen) *pRecvLen = used;
    if (pAddrLen) *pAddrLen = n * sizeof(WINDIVERT_ADDRESS);
    return TRUE;
}

BOOL WinDivertSendEx(HANDLE handle, const void *pPacket, UINT packetLen, UINT *pSendLen, uint64_t flags,
                     const WINDIVERT_ADDRESS *pAddr, UINT addrLen, void *lpOverlapped)
{
    handle_t *h = handle;
    if (h == NULL || handle == INVALID_HANDLE_VALUE) return fail(ERROR_INVALID_HANDLE);
    if (h->shut_send) return fail(ERROR_NO_DATA);
    if (flags != 0 || lpOverlapped != NULL || pPacket == NULL || pAddr == NULL || addrLen == 0 ||
        addrLen % sizeof(WINDIVERT_ADDRESS) != 0 || addrLen / sizeof(WINDIVERT_ADDRESS) > BATCH_MAX)
        return fail(ERROR_INVALID_PARAMETER);
    uint32_t count = addrLen / sizeof(WINDIVERT_ADDRESS);

    /* Split the packed packets by their IP lengths; the count must match the addresses. */
    const uint8_t *bytes = pPacket;
    uint32_t at = 0, n = 0;
    while (at < packetLen) {
        uint32_t len = ip_packet_length(bytes + at, packetLen - at);
        if (len == 0 || len > MTU_MAX || at + len > packetLen) return fail(ERROR_INVALID_PARAMETER);
        at += len;
        n++;
    }
    if (n != count) return fail(ERROR_INVALID_PARAMETER);

    packet_t *first = NULL, **tail = &first;
    at = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = ip_packet_length(bytes + at, packetLen - at);
        packet_t *p = malloc(sizeof(packet_t) + len);
        p->next = NULL;
        p->len = len;
        p->addr = pAddr[i];
        memcpy(p->bytes, bytes + at, len);
        if (p->addr.Impostor && !decrement_ttl(p->bytes, len)) {
            free(p);
            free_list(first);
            return fail(ERROR_HOST_UNREACHABLE);
        }
        *tail = p;
        tail = &p->next;
        at += len;
    }

    pthread_mutex_lock(&lock);
    send_calls++;
    for (packet_t *p = first; p;) {
        packet_t *next = p->next;
        if (sent_count == sent_cap) {
            sent_cap = sent_cap ? sent_cap * 2 : 64;
            sent = realloc(sent, sent_cap * sizeof(packet_t *));
        }
        p->next = NULL;
        sent[sent_count++] = p;
        p = next;
    }
    pthread_mutex_unlock(&lock);
    if (pSendLen) *pSendLen = packetLen;
    return TRUE;
}

BOOL WinDivertShutdown(HANDLE handle, int how)
{
    handle_t *h = handle;
    if (h == NULL || handle == INVALID_HANDLE_VALUE) return fail(ERROR_INVALID_HANDLE);
    if (how < 1 || how > 3) return fail(ERROR_INVALID_PARAMETER);
    pthread_mutex_lock(&lock);
    if (how & SHUTDOWN_RECV) h->shut_recv = 1;
    if (how & SHUTDOWN_SEND) h->shut_send = 1;
    pthread_cond_broadcast(&queued);
    pthread_mutex_unlock(&lock);
    return TRUE;
}

BOOL WinDivertClose(HANDLE handle)
{
    handle_t *h = handle;
    if (h == NULL || handle == INVALID_HANDLE_VALUE) return fail(ERROR_INVALID_HANDLE);
    pthread_mutex_lock(&lock);
    close_count++;
    pthread_mutex_unlock(&lock);
    free(h);
    return TRUE;
}

BOOL WinDivertSetParam(HANDLE handle, int param, uint64_t value)
{
    static const uint64_t min[3] = {32, 100, 65535}, max[3] = {16384, 16000, 33554432};
    if (handle == NULL || handle == INVALID_HANDLE_VALUE) return fail(ERROR_INVALID_HANDLE);
    if (param < 0 || param > PARAM_QUEUE_SIZE || value < min[param] || value > max[param])
        return fail(ERROR_INVALID_PARAMETER);
    pthread_mutex_lock(&lock);
    params[param] = value;
    pthread_mutex_unlock(&lock);
    return TRUE;
}

BOOL WinDivertGetParam(HANDLE handle, int param, uint64_t *pValue)
{
    if (handle == NULL || handle == INVALID_HANDLE_VALUE) return fail(ERROR_INVALID_HANDLE);
    if (param < 0 || param > PARAM_VERSION_MINOR || pValue == NULL) return fail(ERROR_INVALID_PARAMETER);
    pthread_mutex_lock(&lock);
    *pValue = params[param];
    pthread_mutex_unlock(&lock);
    return TRUE;
}

/* ---- control API for tests ---- */

/* Queues one diverted packet; returns 0 when the queue is full (the driver would drop it). */
int Double_Enqueue(const uint8_t *bytes, uint32_t len, const WINDIVERT_ADDRESS *addr)
{
    pthread_mutex_lock(&lock);
    if (queue_count >= params[PARAM_QUEUE_LENGTH]) {
        dropped++;
        pthread_mutex_unlock(&lock);
        return 0;
    }
    packet_t *p = malloc(sizeof(packet_t) + len);
    p->next = NULL;
    p->len = len;
    p->addr = *addr;
    memcpy(p->bytes, bytes, len);
    if (queue_tail) queue_tail->next = p;
    else queue_head = p;
    queue_tail = p;
    queue_count++;
    pthread_cond_broadcast(&queued);
    pthread_mutex_unlock(&lock);
    return 1;
}

void Double_Reset(void)
{
    pthread_mutex_lock(&lock);
    free_list(queue_head);
    queue_head = queue_tail = NULL;
    queue_count = dropped = 0;
    for (uint32_t i = 0; i < sent_count; i++) free(sent[i]);
    sent_count = 0;
    recv_calls = send_calls = open_count = close_count = 0;
    params[0] = 4096;
    params[1] = 2000;
    params[2] = 4194304;
    params[3] = 2;
    params[4] = 2;
    fail_open_code = 0;
    free(last_filter);
    last_filter = NULL;
    pthread_mutex_unlock(&lock);
}

void Double_SetVersion(uint32_t major, uint32_t minor)
{
    params[PARAM_VERSION_MAJOR] = major;
    params[PARAM_VERSION_MINOR] = minor;
}

void Double_FailOpen(int code) { fail_open_code = code; }

uint32_t Double_SentCount(void) { return sent_count; }

/* Copies sent packet i into buf (up to cap bytes) and its address; returns its length. */
uint32_t Double_Sent(uint32_t i, uint8_t *buf, uint32_t cap, WINDIVERT_ADDRESS *addr)
{
    if (i >= sent_count) return 0;
    packet_t *p = sent[i];
    memcpy(buf, p->bytes, p->len < cap ? p->len : cap);
    *addr = p->addr;
    return p->len;
}

uint32_t Double_Queued(void) { return queue_count; }
uint32_t Double_Dropped(void) { return dropped; }
uint32_t Double_RecvCalls(void) { return recv_calls; }
uint32_t Double_SendCalls(void) { return send_calls; }
uint32_t Double_OpenCount(void) { return open_count; }
uint32_t Double_CloseCount(void) { return close_count; }
uint64_t Double_Param(int param) { return params[param]; }
const char *Double_LastFilter(void) { return last_filter ? last_filter : ""; }
int64_t Double_LastLayer(void) { return last_layer; }
int64_t Double_LastPriority(void) { return last_priority; }
uint64_t Double_LastFlags(void) { return last_flags; }

/* Layout as this compiler lays out the struct: sizeof, then offsets of the named fields. */
void Double_Layout(uint32_t out[6])
{
    out[0] = sizeof(WINDIVERT_ADDRESS);
    out[1] = offsetof(WINDIVERT_ADDRESS, Timestamp);
    out[2] = offsetof(WINDIVERT_ADDRESS, Reserved2);
    out[3] = offsetof(WINDIVERT_ADDRESS, Network);
    out[4] = offsetof(WINDIVERT_ADDRESS, Network.IfIdx);
    out[5] = offsetof(WINDIVERT_ADDRESS, Network.SubIfIdx);
}

/* The 32-bit word at byte 8 with only bit-field `field` (0 Layer … 9 UDPChecksum) set to all ones. */
uint32_t Double_BitField(int field)
{
    WINDIVERT_ADDRESS a;
    memset(&a, 0, sizeof a);
    switch (field) {
    case 0: a.Layer = 0xFF; break;
    case 1: a.Event = 0xFF; break;
    case 2: a.Sniffed = 1; break;
    case 3: a.Outbound = 1; break;
    case 4: a.Loopback = 1; break;
    case 5: a.Impostor = 1; break;
    case 6: a.IPv6 = 1; break;
    case 7: a.IPChecksum = 1; break;
    case 8: a.TCPChecksum = 1; break;
    case 9: a.UDPChecksum = 1; break;
    }
    uint32_t word;
    memcpy(&word, (uint8_t *)&a + 8, 4);
    return word;
}
