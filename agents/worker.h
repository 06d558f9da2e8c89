/*  agents/worker.h: one worker thread of the pool. Not installed.

    A worker is a thread and a PAIR of inproc sockets between it and the
    pool actor. The actor sends it "run this task" (the task pointer; the
    task is the worker's from then on) or "stop"; the worker sends back
    progress reports, one final report per task, and a last word when its
    thread exits. The actor never blocks on a worker, and a worker never
    blocks on the actor (all its sends are non-blocking on an unbounded
    pipe), so a worker whose actor has gone on without it can always end.

    Shared state is two atomics: the worker's state, whose compare-and-swap
    decides who owns the outcome of a task when its deadline and its end
    race (the worker finishing: RUNNING -> FINISHED; the actor timing it
    out: RUNNING -> LOST), and the cancel flag fed_task_cancelled reads.
    Everything else is either the actor's or the worker thread's alone.

    A worker struct is freed by the actor after joining the thread. A
    thread that never ends (an agent stuck for good) keeps its struct,
    which is then never freed.
*/
#ifndef FED_WORKER_H_INCLUDED
#define FED_WORKER_H_INCLUDED

#include <czmq.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include "util.h"

typedef struct fed_task_t fed_task_t;

//  libzmq is not built with ThreadSanitizer, so TSan cannot see that a
//  message on a pipe orders what its sender wrote before sending against
//  what its receiver reads after receiving. Under TSan these state that
//  edge at each hand-over of memory by pointer (a task, a report's bytes);
//  in every other build they are nothing.
#if defined(__SANITIZE_THREAD__)
#define FED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FED_TSAN 1
#endif
#endif
#ifdef FED_TSAN
void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
#define FED_HANDOFF_SEND(ptr) __tsan_release ((void *) (ptr))
#define FED_HANDOFF_RECV(ptr) __tsan_acquire ((void *) (ptr))
#else
#define FED_HANDOFF_SEND(ptr) ((void) (ptr))
#define FED_HANDOFF_RECV(ptr) ((void) (ptr))
#endif

typedef enum {
    FED_WORKER_IDLE = 0,     //  waiting for a task
    FED_WORKER_RUNNING = 1,  //  the actor handed it a task
    FED_WORKER_FINISHED = 2, //  the agent returned; the final report is on its way
    FED_WORKER_LOST = 3      //  the actor gave up on it (timeout); it ends by itself
} fed_worker_state_t;

//  What a worker sends the actor: one kind byte, then for P, C and F a
//  second frame holding the report (agents/report.h).
#define FED_WORKER_PROGRESS 'P'
#define FED_WORKER_COMPLETED 'C'
#define FED_WORKER_FAILED 'F'
#define FED_WORKER_EXITED 'X' //  the thread is returning: join it

typedef struct fed_worker_t {
    //  Shared between the actor and the thread.
    atomic_int state;   //  fed_worker_state_t
    atomic_bool cancel; //  the running task is cancelled, or the pool stops

    //  The thread's alone once it has started.
    zsock_t *sock; //  its end of the pair; the thread closes it as it exits

    //  The actor's alone.
    pthread_t thread;    //  joined after FED_WORKER_EXITED
    zsock_t *actor_sock; //  the actor's end of the pair, owned
    bool lost;           //  timed out; no longer counted as live
    uint64_t task;       //  id of the task it runs, 0 when idle
    char *run;           //  that task's run and step (copies, for reports
    char *step;          //  the actor writes: timeout, cancelled)
    uint32_t attempt;    //
    char *agent;         //  and its agent's name, for log lines
    int64_t started_ms;  //  monotonic start of that task
    int64_t deadline_ms; //  when it times out
    int64_t timeout_ms;  //  its timeout, for the message
    bool reported;       //  its final report is already sent (cancelled)
} fed_worker_t;

//  Starts a worker whose pair binds at endpoint (unique in the process).
//  Returns NULL with err if the thread cannot be started. The actor owns it.
fed_worker_t *fed_worker_start (const char *endpoint, fed_err_t *err);

//  Actor: hands *task_p to the idle worker (sets *task_p to NULL), with
//  deadline now + the task's timeout. Returns 0, or -1 if the worker's
//  pipe refused it (the task is destroyed).
int fed_worker_assign (fed_worker_t *self, fed_task_t **task_p, int64_t now_ms) FED_MUST_USE;

//  Actor: forgets the task it recorded (after its final report or loss).
void fed_worker_clear (fed_worker_t *self);

//  Actor: asks the thread to exit once its current task (if any) returns.
void fed_worker_stop (fed_worker_t *self);

//  Actor: joins the thread (which has said FED_WORKER_EXITED) and frees the
//  worker. Sets *self_p to NULL.
void fed_worker_join (fed_worker_t **self_p);

//  Actor: leaves a thread that will not end behind: detaches it and closes
//  the actor's end. The struct is not freed (the thread still uses it).
void fed_worker_abandon (fed_worker_t **self_p);

//  Worker thread: sends kind and, unless NULL, the packed report (whose
//  buffer it takes over and leaves empty). Never blocks; drops the report
//  if the actor is gone.
void fed_worker_send (fed_worker_t *self, char kind, msgpack_sbuffer *report);

//  A message whose data is report's buffer, taken over with no copy (the
//  buffer is left empty; the message frees the memory). Reports travel
//  this way from a worker or the actor to the caller, marked as a
//  hand-over (FED_HANDOFF_SEND).
void fed_worker_report_msg (zmq_msg_t *msg, msgpack_sbuffer *report);

#endif
