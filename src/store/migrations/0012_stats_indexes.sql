-- Trade statistics (order/stats.h) read paid orders by the time they were paid.
CREATE INDEX ord_orders_paid_at ON ord_orders(paid_at_us);
