-- CreateTable
CREATE TABLE "Erasure" (
    "tenantId" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "requestedBy" TEXT NOT NULL,

    CONSTRAINT "Erasure_pkey" PRIMARY KEY ("tenantId")
);

-- CreateTable
CREATE TABLE "StoreCleanup" (
    "store" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "dueAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StoreCleanup_pkey" PRIMARY KEY ("store")
);

-- CreateIndex
CREATE INDEX "StoreCleanup_dueAt_idx" ON "StoreCleanup"("dueAt");
