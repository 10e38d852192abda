/* The drop_final_ack demo's timeline is on one clock: its lines are in time order, packet
 * events among the others, and the heading's duration is the time of its last line. The
 * heading once gave the time the packet engine let the flows go (~860 ms) while the last
 * event was at ~420 ms, and finwait's FIN was drawn after "connection closed" though
 * shutdown() sent it before. In a network namespace of its own (root). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "netns.h"
#include "proc.h"

int main(void)
{
    char *out = NULL;
    const char *p, *line, *fin, *closed;
    double heading, t, last = -1;
    int events = 0, packets = 0;

    netns_enter(2);
    CHECK_EQ(fwp_run((const char *[]){"demo", "drop_final_ack", NULL}, &out, 30000), 0);
    p = strstr(out, "demo#1  client <-> finwait <-> server  (");
    CHECK_MSG(p != NULL, "no timeline in:\n%s", out);
    CHECK(sscanf(strchr(p, '(') + 1, "%lf ms)", &heading) == 1);
    /* the event lines: "<ms> <lifelines and arrows> <note>", after the "ms" heading line */
    line = strchr(strchr(p, '\n') + 1, '\n') + 1;
    while (sscanf(line, "%lf", &t) == 1) {
        const char *eol = strchr(line, '\n');
        CHECK(eol != NULL);
        CHECK_MSG(t >= last, "drawn out of order: %.3f after %.3f:\n%s", t, last, p);
        if (memmem(line, (size_t)(eol - line), "final ACK", 9))
            packets++;
        last = t;
        events++;
        line = eol + 1;
    }
    fprintf(stderr, "%d events, %d final ACK segments, heading %.3f ms, last event %.3f ms\n",
            events, packets, heading, last);
    CHECK_INT(packets, >=, 3); /* dropped twice, then passed */
    /* finwait's FIN, sent by shutdown() before the connection closed, is judged before that
     * too: its segment waits in the queue only until finwait's next event */
    fin = strstr(p, "passed FIN [FA] Seq=4097");
    closed = strstr(p, "connection closed");
    CHECK(fin != NULL && closed != NULL);
    CHECK_MSG(fin < closed, "finwait's FIN drawn after the connection closed:\n%s", p);
    CHECK_MSG(heading >= last - 0.0005 && heading <= last + 0.0005,
              "heading %.3f ms, last event %.3f ms:\n%s", heading, last, p);
    free(out);
    TEST_PASS("drop_final_ack demo: one clock, in order, heading = last event");
    return 0;
}
