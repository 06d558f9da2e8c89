/*  agents/worker.c: one worker thread of the pool (worker.h): its loop, and
    the actor's side of handing it tasks, stopping, joining or abandoning it.
*/
#include "task_internal.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

//  Actor to worker: one frame, a command byte and (for TASK) the pointer.
#define CMD_TASK 'T'
#define CMD_STOP 'S'

static void
s_free_data (void *data, void *hint)
{
    (void) hint;
    free (data);
}

void
fed_worker_send (fed_worker_t *self, char kind, msgpack_sbuffer *report)
{
    void *handle = zsock_resolve (self->sock);
    if (zmq_send (handle, &kind, 1, ZMQ_DONTWAIT | (report ? ZMQ_SNDMORE : 0)) != 1)
        return; //  the actor has closed its end: nobody listens
    if (!report)
        return;
    zmq_msg_t msg;
    fed_worker_report_msg (&msg, report);
    if (zmq_msg_send (&msg, handle, ZMQ_DONTWAIT) < 0)
        zmq_msg_close (&msg);
}

void
fed_worker_report_msg (zmq_msg_t *msg, msgpack_sbuffer *report)
{
    size_t size = report->size;
    void *data = msgpack_sbuffer_release (report);
    zmq_msg_init_data (msg, data, size, s_free_data, NULL);
    FED_HANDOFF_SEND (data); //  read and freed by whoever receives the report
}

static void *
s_worker_main (void *arg)
{
    fed_worker_t *self = (fed_worker_t *) arg;
    void *handle = zsock_resolve (self->sock);
    uint8_t frame [1 + sizeof (void *)];
    while (true) {
        int size = zmq_recv (handle, frame, sizeof frame, 0);
        if (size < 0 && errno == EINTR)
            continue;
        if (size != (int) sizeof frame || frame [0] != CMD_TASK)
            break; //  CMD_STOP, or the context is going away
        fed_task_t *task;
        memcpy (&task, frame + 1, sizeof task);
        FED_HANDOFF_RECV (task);
        msgpack_sbuffer report;
        msgpack_sbuffer_init (&report);
        bool completed = fed_task_execute (task, self, &report);
        //  Whoever moves the state off RUNNING owns the outcome: here the
        //  worker, unless the actor timed the task out first.
        int expected = FED_WORKER_RUNNING;
        bool ours = atomic_compare_exchange_strong (&self->state, &expected, FED_WORKER_FINISHED);
        if (ours)
            fed_worker_send (self, completed ? FED_WORKER_COMPLETED : FED_WORKER_FAILED, &report);
        msgpack_sbuffer_destroy (&report);
        fed_task_destroy (&task);
        if (!ours)
            break; //  lost: a replacement has taken this worker's place
    }
    fed_worker_send (self, FED_WORKER_EXITED, NULL);
    zsock_destroy (&self->sock);
    return NULL;
}

//  A PAIR socket with unbounded queues (what a worker sends is bounded by
//  its tasks: one final report each, progress rate-limited).
static zsock_t *
s_pair (void)
{
    zsock_t *sock = zsock_new (ZMQ_PAIR);
    if (sock) {
        zsock_set_sndhwm (sock, 0);
        zsock_set_rcvhwm (sock, 0);
        zsock_set_linger (sock, 0);
    }
    return sock;
}

fed_worker_t *
fed_worker_start (const char *endpoint, fed_err_t *err)
{
    fed_worker_t *self = (fed_worker_t *) fed_calloc (1, sizeof (fed_worker_t));
    atomic_init (&self->state, FED_WORKER_IDLE);
    atomic_init (&self->cancel, false);
    self->actor_sock = s_pair ();
    self->sock = s_pair ();
    if (!self->actor_sock || !self->sock || zsock_bind (self->actor_sock, "%s", endpoint) < 0
        || zsock_connect (self->sock, "%s", endpoint) < 0) {
        fed_err_set (err, -1, "cannot open the worker pipe %s: %s", endpoint,
                     zmq_strerror (zmq_errno ()));
        goto err;
    }
    //  Workers take no asynchronous signals (the node's main thread waits for
    //  those), so a signal never interrupts an agent's system calls. The
    //  synchronous ones a fault raises cannot be blocked usefully.
    sigset_t all, old;
    sigfillset (&all);
    sigdelset (&all, SIGSEGV);
    sigdelset (&all, SIGBUS);
    sigdelset (&all, SIGFPE);
    sigdelset (&all, SIGILL);
    pthread_sigmask (SIG_SETMASK, &all, &old);
    int rc = pthread_create (&self->thread, NULL, s_worker_main, self);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (rc) {
        fed_err_set (err, -1, "cannot start a worker thread: %s", strerror (rc));
        goto err;
    }
    return self;
err:
    zsock_destroy (&self->sock);
    zsock_destroy (&self->actor_sock);
    free (self);
    return NULL;
}

int
fed_worker_assign (fed_worker_t *self, fed_task_t **task_p, int64_t now_ms)
{
    fed_task_t *task = *task_p;
    assert (self->task == 0 && !self->lost);
    self->task = task->id;
    self->run = fed_strdup (task->run);
    self->step = fed_strdup (task->step);
    self->attempt = task->attempt;
    self->agent = fed_strdup (task->agent);
    self->started_ms = now_ms;
    self->timeout_ms = task->timeout_ms;
    self->deadline_ms = now_ms + task->timeout_ms;
    self->reported = false;
    task->started_ms = now_ms;
    atomic_store (&self->cancel, false);
    atomic_store (&self->state, FED_WORKER_RUNNING);
    uint8_t frame [1 + sizeof (void *)];
    frame [0] = CMD_TASK;
    memcpy (frame + 1, &task, sizeof task);
    FED_HANDOFF_SEND (task);
    if (zmq_send (zsock_resolve (self->actor_sock), frame, sizeof frame, ZMQ_DONTWAIT)
        != (int) sizeof frame) {
        atomic_store (&self->state, FED_WORKER_IDLE);
        fed_worker_clear (self);
        return -1;
    }
    *task_p = NULL; //  the worker thread's now
    return 0;
}

void
fed_worker_clear (fed_worker_t *self)
{
    self->task = 0;
    fed_free (&self->run);
    fed_free (&self->step);
    fed_free (&self->agent);
    self->reported = false;
}

void
fed_worker_stop (fed_worker_t *self)
{
    char command = CMD_STOP;
    //  Never blocks (unbounded pipe); fails only if the thread has gone,
    //  which needs no stopping.
    zmq_send (zsock_resolve (self->actor_sock), &command, 1, ZMQ_DONTWAIT);
}

void
fed_worker_join (fed_worker_t **self_p)
{
    if (self_p && *self_p) {
        fed_worker_t *self = *self_p;
        pthread_join (self->thread, NULL);
        zsock_destroy (&self->actor_sock);
        fed_worker_clear (self);
        free (self);
        *self_p = NULL;
    }
}

void
fed_worker_abandon (fed_worker_t **self_p)
{
    if (self_p && *self_p) {
        fed_worker_t *self = *self_p;
        pthread_detach (self->thread);
        zsock_destroy (&self->actor_sock);
        fed_worker_clear (self);
        *self_p = NULL; //  not freed: the thread may still read it
    }
}
