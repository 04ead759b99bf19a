/* test_backoff - retry arithmetic: waits, expiry, delay warnings. */
#include "unit.h"

#include "backoff.h"

TEST(wait_grows_with_age)
{
    /* min 300, max 4000: young messages wait min, then the age, capped. */
    CHECK_INT(backoff_wait(1000, 1000, 300, 4000), 300);
    CHECK_INT(backoff_wait(1000, 1299, 300, 4000), 300);
    CHECK_INT(backoff_wait(1000, 1600, 300, 4000), 600);
    CHECK_INT(backoff_wait(1000, 2200, 300, 4000), 1200);
    CHECK_INT(backoff_wait(1000, 3400, 300, 4000), 2400);
    CHECK_INT(backoff_wait(1000, 5000, 300, 4000), 4000);
    CHECK_INT(backoff_wait(1000, 1000000, 300, 4000), 4000);
}

TEST(wait_doubles_on_schedule)
{
    /* Retrying exactly when due: successive waits double until the cap. */
    long t = 0, arrival = 0;
    long expect[] = {300, 300, 600, 1200, 2400, 4000, 4000};

    for (int i = 0; i < 7; i++) {
	long w = backoff_wait(arrival, t, 300, 4000);

	CHECK_INT(w, expect[i]);
	t += w;
    }
}

TEST(wait_odd_inputs)
{
    CHECK_INT(backoff_wait(5000, 1000, 300, 4000), 300);	/* clock went back */
    CHECK_INT(backoff_wait(0, 100, 0, 0), 1);			/* min clamped to 1 */
    CHECK_INT(backoff_wait(0, 100000, 500, 100), 500);		/* max < min */
}

TEST(expiry)
{
    CHECK(!backoff_expired(1000, 1000, 5 * 86400));
    CHECK(!backoff_expired(1000, 1000 + 5 * 86400 - 1, 5 * 86400));
    CHECK(backoff_expired(1000, 1000 + 5 * 86400, 5 * 86400));
    CHECK(backoff_expired(1000, 1000, 0));			/* lifetime 0: try once */
    CHECK(backoff_expired(5000, 1000, 0));
    CHECK(!backoff_expired(5000, 1000, 10));
}

TEST(delay_warning)
{
    CHECK(!backoff_warn_due(0, 100000, 0, false));		/* 0: never */
    CHECK(!backoff_warn_due(0, 3599, 3600, false));
    CHECK(backoff_warn_due(0, 3600, 3600, false));
    CHECK(!backoff_warn_due(0, 7200, 3600, true));		/* once */
}

int main(void)
{
    RUN(wait_grows_with_age);
    RUN(wait_doubles_on_schedule);
    RUN(wait_odd_inputs);
    RUN(expiry);
    RUN(delay_warning);
    return unit_done();
}
